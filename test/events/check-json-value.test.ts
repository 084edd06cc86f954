import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkJsonValue } from '../../src/events/check-json-value.ts';

/** A value nested `d` arrays deep, built without recursion. */
function deepArray(d: number): unknown {
  let v: unknown[] = [];
  for (let i = 1; i < d; i++) v = [v];
  return v;
}

describe('checkJsonValue', () => {
  it('accepts values within bounds, including scalars and empty containers', () => {
    for (const v of [null, true, 'x', 0, -1.5, 1.7e308, {}, [], { a: [1, { b: 'c' }] }, deepArray(32)]) {
      assert.equal(checkJsonValue(v, 32), undefined, JSON.stringify(v));
    }
  });

  it('counts the root as level 1 and reports the path of the first too-deep container', () => {
    assert.equal(checkJsonValue(deepArray(33), 32)?.kind, 'too_deep');
    assert.deepEqual(checkJsonValue({ a: 1, b: { c: [[]] } }, 3), { kind: 'too_deep', path: 'b.c.0' });
    assert.equal(checkJsonValue({ a: 1, b: { c: [[]] } }, 4), undefined);
  });

  it('reports non-finite numbers anywhere, with their path', () => {
    assert.deepEqual(checkJsonValue(Number.POSITIVE_INFINITY, 32), { kind: 'not_finite', path: '' });
    assert.deepEqual(checkJsonValue({ a: [0, 1, Number.NEGATIVE_INFINITY] }, 32), { kind: 'not_finite', path: 'a.2' });
    assert.deepEqual(checkJsonValue({ x: { y: Number.NaN } }, 32), { kind: 'not_finite', path: 'x.y' });
    assert.deepEqual(checkJsonValue(JSON.parse('{"t":1e309}'), 32), { kind: 'not_finite', path: 't' });
  });

  it('walks 100,000 levels without recursion, and ends on a cycle', () => {
    assert.equal(checkJsonValue({ v: deepArray(100_000) }, 32)?.kind, 'too_deep');
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    assert.equal(checkJsonValue(cyclic, 32)?.kind, 'too_deep');
  });

  it('shortens very long paths', () => {
    const key = 'k'.repeat(200);
    const r = checkJsonValue({ [key]: Number.POSITIVE_INFINITY }, 32);
    assert.equal(r?.path, `${'k'.repeat(120)}…`);
  });
});
