import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { TranscriptTail } from '../../../src/sources/claude/transcript-tail.ts';

describe('TranscriptTail', () => {
  const dir = mkdtempSync(join(tmpdir(), 'turnstream-tail-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('returns complete lines only; a partial last line waits for its newline', () => {
    const path = join(dir, 'a.jsonl');
    writeFileSync(path, '{"a":1}\r\n\n{"b":"é');
    const tail = new TranscriptTail(path);
    const r1 = tail.read();
    assert.ok(r1.ok);
    assert.deepEqual(r1.lines, ['{"a":1}']);
    assert.equal(tail.partial, '{"b":"é');
    appendFileSync(path, '😀"}\n{"c":3}\n');
    const r2 = tail.read();
    assert.ok(r2.ok);
    assert.deepEqual(r2.lines, ['{"b":"é😀"}', '{"c":3}']);
    assert.equal(tail.partial, '');
    const r3 = tail.read();
    assert.ok(r3.ok);
    assert.deepEqual(r3.lines, []);
  });

  it('keeps a multi-byte character split across reads intact', () => {
    const path = join(dir, 'b.jsonl');
    const bytes = Buffer.from('{"x":"€"}\n');
    writeFileSync(path, bytes.subarray(0, 7)); // cuts the 3-byte euro sign
    const tail = new TranscriptTail(path);
    assert.deepEqual((tail.read() as { lines: string[] }).lines, []);
    appendFileSync(path, bytes.subarray(7));
    assert.deepEqual((tail.read() as { lines: string[] }).lines, ['{"x":"€"}']);
  });

  it('starts over when the file got shorter (replaced or truncated)', () => {
    const path = join(dir, 'c.jsonl');
    writeFileSync(path, '{"a":1}\n{"a":2}\n');
    const tail = new TranscriptTail(path);
    tail.read();
    writeFileSync(path, '{"z":1}\n');
    const r = tail.read();
    assert.ok(r.ok);
    assert.equal(r.restarted, true);
    assert.deepEqual(r.lines, ['{"z":1}']);
  });

  it('returns errors instead of throwing', () => {
    const missing = new TranscriptTail(join(dir, 'nope.jsonl')).read();
    assert.equal(missing.ok, false);
    const sub = join(dir, 'd.jsonl');
    mkdirSync(sub);
    const directory = new TranscriptTail(sub).read();
    assert.equal(directory.ok, false);
  });
});
