import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { readNdjson, type NdjsonBatch } from '../../src/sources/read-ndjson.ts';
import { splitNdjson } from '../../src/sources/split-ndjson.ts';

async function collect(stream: Readable, batchSize?: number): Promise<NdjsonBatch[]> {
  const batches: NdjsonBatch[] = [];
  for await (const batch of readNdjson(stream, batchSize === undefined ? {} : { batchSize })) batches.push(batch);
  return batches;
}

/** All batches flattened to [lineNumber, line] pairs. */
async function lines(stream: Readable): Promise<[number, string][]> {
  const pairs: [number, string][] = [];
  for (const b of await collect(stream)) {
    assert.equal(b.lines.length, b.lineNumbers.length);
    for (const [i, line] of b.lines.entries()) pairs.push([b.lineNumbers[i]!, line]);
  }
  return pairs;
}

/** Cuts `bytes` into Buffers at the given offsets. */
function cut(bytes: Buffer, at: number[]): Buffer[] {
  const edges = [0, ...at, bytes.length];
  return edges.slice(1).map((end, i) => bytes.subarray(edges[i], end));
}

describe('splitNdjson', () => {
  it('splits LF and CRLF lines and skips blank and whitespace-only lines', () => {
    assert.deepEqual(splitNdjson('a\nb\r\n\n  \r\n\t\nc'), ['a', 'b', 'c']);
  });
  it('keeps a last line without newline, and inner whitespace and \\r', () => {
    assert.deepEqual(splitNdjson(' {"x": 1} \r\nlast'), [' {"x": 1} ', 'last']);
    assert.deepEqual(splitNdjson('a\rb\n'), ['a\rb']);
  });
  it('strips only one trailing \\r', () => {
    assert.deepEqual(splitNdjson('a\r\r\n'), ['a\r']);
  });
  it('returns nothing for empty or blank input', () => {
    assert.deepEqual(splitNdjson(''), []);
    assert.deepEqual(splitNdjson('\n\r\n  \n'), []);
  });
  it('keeps multi-byte characters intact', () => {
    assert.deepEqual(splitNdjson('{"a":"é€😀"}\n{"b":"日本"}\n'), ['{"a":"é€😀"}', '{"b":"日本"}']);
  });
});

describe('readNdjson', () => {
  it('accepts CRLF and LF and skips blank lines, counting them in line numbers', async () => {
    // line 1 "a", 2 blank, 3 "b" (CRLF), 4 whitespace, 5 "c", 6 blank (CRLF), 7 "d"
    const got = await lines(Readable.from(['a\n\nb\r\n  \t\nc\n\r\nd\n']));
    assert.deepEqual(got, [
      [1, 'a'],
      [3, 'b'],
      [5, 'c'],
      [7, 'd'],
    ]);
  });

  it('yields a last line without a trailing newline, CR stripped', async () => {
    assert.deepEqual(await lines(Readable.from(['a\nb'])), [
      [1, 'a'],
      [2, 'b'],
    ]);
    assert.deepEqual(await lines(Readable.from(['a\r\nb\r'])), [
      [1, 'a'],
      [2, 'b'],
    ]);
  });

  it('yields nothing for an empty or all-blank stream', async () => {
    assert.deepEqual(await collect(Readable.from([])), []);
    assert.deepEqual(await collect(Readable.from(['\n\n \r\n'])), []);
  });

  it('joins a line split across many tiny string chunks', async () => {
    const text = '{"v":1,"id":"a","type":"turn.start"}\r\n\n{"v":1,"id":"b"}\n';
    const chunks = [...text]; // one character per chunk, CR and LF in separate chunks
    assert.deepEqual(await lines(Readable.from(chunks)), [
      [1, '{"v":1,"id":"a","type":"turn.start"}'],
      [3, '{"v":1,"id":"b"}'],
    ]);
    const threes = text.match(/[\s\S]{1,3}/g)!;
    assert.deepEqual(await lines(Readable.from(threes)), [
      [1, '{"v":1,"id":"a","type":"turn.start"}'],
      [3, '{"v":1,"id":"b"}'],
    ]);
  });

  it('does not corrupt multi-byte UTF-8 cut across Buffer chunk boundaries', async () => {
    // Byte offsets: {"a":" 0–5, é 6–7, € 8–10, 😀 11–14, "} 15–16, \n 17 (18 bytes);
    // {"b":" 18–23, 日 24–26, 本 27–29, "} 30–31, \n 32 (15 bytes).
    const text = '{"a":"é€😀"}\n{"b":"日本"}\n';
    const bytes = Buffer.from(text, 'utf8');
    assert.equal(bytes.length, 18 + 15);
    const expected: [number, string][] = [
      [1, '{"a":"é€😀"}'],
      [2, '{"b":"日本"}'],
    ];
    // A chunk ends before each offset: inside é (7), inside € (9), twice inside 😀 (12, 14), inside 日 (25).
    assert.deepEqual(await lines(Readable.from(cut(bytes, [7, 9, 12, 14, 25]))), expected);
    // Every single-byte chunking, in a byte-mode stream.
    const byteMode = new Readable({ read() {} });
    for (const b of cut(
      bytes,
      Array.from({ length: bytes.length - 1 }, (_, i) => i + 1),
    ))
      byteMode.push(b);
    byteMode.push(null);
    assert.deepEqual(await lines(byteMode), expected);
  });

  it('does not corrupt multi-byte UTF-8 read from a file one byte at a time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'turnstream-ndjson-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'events.ndjson');
    writeFileSync(path, '{"name":"Łódź ☃ 𝄞"}\r\n\r\n{"name":"ok"}');
    assert.deepEqual(await lines(createReadStream(path, { highWaterMark: 1 })), [
      [1, '{"name":"Łódź ☃ 𝄞"}'],
      [3, '{"name":"ok"}'],
    ]);
  });

  it('respects the batch size, with line numbers per batch and no empty trailing batch', async () => {
    // 5 non-empty lines on lines 1, 2, 4, 5, 6 (line 3 blank)
    const text = 'l1\nl2\n\nl4\nl5\nl6\n';
    assert.deepEqual(await collect(Readable.from([text]), 2), [
      { lines: ['l1', 'l2'], lineNumbers: [1, 2] },
      { lines: ['l4', 'l5'], lineNumbers: [4, 5] },
      { lines: ['l6'], lineNumbers: [6] },
    ]);
    assert.deepEqual(await collect(Readable.from(['a\nb\nc\nd']), 2), [
      { lines: ['a', 'b'], lineNumbers: [1, 2] },
      { lines: ['c', 'd'], lineNumbers: [3, 4] },
    ]);
    assert.deepEqual(await collect(Readable.from(['a\nb\n']), 1), [
      { lines: ['a'], lineNumbers: [1] },
      { lines: ['b'], lineNumbers: [2] },
    ]);
  });

  it('defaults to batches of 2000 lines', async () => {
    const text = Array.from({ length: 4001 }, (_, i) => `{"n":${i}}`).join('\n');
    const batches = await collect(Readable.from([text]));
    assert.deepEqual(
      batches.map((b) => b.lines.length),
      [2000, 2000, 1],
    );
    assert.deepEqual([batches[1]!.lineNumbers[0], batches[2]!.lineNumbers[0], batches[2]!.lines[0]], [2001, 4001, '{"n":4000}']);
  });
});
