import type { Readable } from 'node:stream';
import { splitNdjson } from './split-ndjson.ts';

/**
 * Reads NDJSON from a stream (a file or stdin) and yields batches of non-empty lines, in order.
 * Memory stays bounded by the batch size and one chunk; a last line without a newline is yielded.
 */
export async function* readNdjson(stream: Readable, { batchSize = 5000 }: { batchSize?: number } = {}): AsyncGenerator<string[]> {
  stream.setEncoding('utf8');
  let carry = '';
  let batch: string[] = [];
  for await (const chunk of stream as AsyncIterable<string>) {
    const text = carry + chunk;
    const cut = text.lastIndexOf('\n');
    if (cut === -1) {
      carry = text;
      continue;
    }
    carry = text.slice(cut + 1);
    for (const line of splitNdjson(text.slice(0, cut))) {
      batch.push(line);
      if (batch.length >= batchSize) {
        yield batch;
        batch = [];
      }
    }
  }
  batch.push(...splitNdjson(carry));
  if (batch.length > 0) yield batch;
}
