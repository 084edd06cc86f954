import type { Readable } from 'node:stream';

/** A batch of non-empty NDJSON lines with their 1-based line numbers in the input. */
export interface NdjsonBatch {
  readonly lines: string[];
  readonly lineNumbers: number[];
}

/**
 * Reads NDJSON from a stream (a file or stdin) and yields batches of non-empty lines in order,
 * with line numbers for error messages. Memory stays bounded by the batch size and one chunk; a
 * last line without a newline is yielded too; CRLF is accepted.
 */
export async function* readNdjson(stream: Readable, { batchSize = 2000 }: { batchSize?: number } = {}): AsyncGenerator<NdjsonBatch> {
  stream.setEncoding('utf8');
  let carry = '';
  let lineNo = 0;
  let batch: NdjsonBatch = { lines: [], lineNumbers: [] };
  const take = (raw: string): NdjsonBatch | undefined => {
    lineNo++;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') return undefined;
    batch.lines.push(line);
    batch.lineNumbers.push(lineNo);
    if (batch.lines.length < batchSize) return undefined;
    const full = batch;
    batch = { lines: [], lineNumbers: [] };
    return full;
  };
  for await (const chunk of stream as AsyncIterable<string>) {
    const parts = (carry + chunk).split('\n');
    carry = parts.pop() ?? '';
    for (const part of parts) {
      const full = take(part);
      if (full) yield full;
    }
  }
  if (carry !== '') {
    const full = take(carry);
    if (full) yield full;
  }
  if (batch.lines.length > 0) yield batch;
}
