import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { jsonTextTooDeep } from '../../src/events/json-text-too-deep.ts';

const nested = (d: number): string => `${'['.repeat(d)}${']'.repeat(d)}`;

describe('jsonTextTooDeep', () => {
  it('counts the outer object as level 1: {"a":[…]} with 31 arrays is 32 levels', () => {
    assert.equal(jsonTextTooDeep(`{"a":${nested(31)}}`, 32), undefined);
    assert.equal(jsonTextTooDeep(`{"a":${nested(32)}}`, 32), 'a');
    assert.equal(jsonTextTooDeep('{"a":{}}', 1), 'a');
    assert.equal(jsonTextTooDeep('{}', 1), undefined);
  });

  it('names the top-level member holding the deep value, not an earlier or nested one', () => {
    assert.equal(jsonTextTooDeep(`{"x":"y","ok":[1],"deep":{"inner":${nested(5)}}}`, 4), 'deep');
    assert.equal(jsonTextTooDeep(` \n\t{"k":"v","z":${nested(3)}}`, 3), 'z');
  });

  it('shortens a long member name to 64 characters', () => {
    assert.equal(jsonTextTooDeep(`{"${'n'.repeat(100)}":${nested(3)}}`, 2), 'n'.repeat(64));
  });

  it('skips strings, escaped quotes and escaped backslashes', () => {
    const many = '['.repeat(50);
    assert.equal(jsonTextTooDeep(`{"a":"${many}","b":"\\"${many}","c":"\\\\","d":[[]]}`, 3), undefined);
    assert.equal(jsonTextTooDeep(`{"a":"\\\\","d":[[[]]]}`, 3), 'd');
    assert.equal(jsonTextTooDeep(`{"a\\"b":"${many}","d":[[[]]]}`, 3), 'd');
  });

  it('leaves non-objects and unterminated strings to JSON.parse', () => {
    assert.equal(jsonTextTooDeep(nested(1000), 32), undefined);
    assert.equal(jsonTextTooDeep(` ${nested(1000)}`, 32), undefined);
    assert.equal(jsonTextTooDeep(`{"a":"${'['.repeat(100)}`, 32), undefined);
  });

  it('is linear: a 64 KiB text of brackets inside one string, or 32k-deep, is answered at once', () => {
    const t0 = performance.now();
    assert.equal(jsonTextTooDeep(`{"a":"${'['.repeat(65_000)}"}`, 32), undefined);
    assert.equal(jsonTextTooDeep(`{"a":${nested(32_000)}}`, 32), 'a');
    assert.ok(performance.now() - t0 < 1000);
  });
});
