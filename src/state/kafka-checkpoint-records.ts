import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { constants, gunzip, gzip } from 'node:zlib';
import type { Message } from 'kafkajs';
import type { Checkpoint } from './session-state-store.ts';
import { checkpointChunkKey, checkpointKey, header, type StoredRecord } from './kafka-state-records.ts';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/**
 * Compressed checkpoint bytes per record: under Kafka's default limit of ~1 MiB per record batch
 * (`message.max.bytes`, `max.message.bytes` on the topic) with room for the batch's overhead.
 */
export const CHECKPOINT_CHUNK_BYTES = 768 * 1024;

/**
 * zlib's step for the checkpoint's (de)compression. The default (16 KiB) made ~1,400 round trips
 * through the event loop for a 22 MB checkpoint, each waiting behind whatever else the loop was
 * doing: a takeover's three restores took 1.2–2.7 s each to decompress. A few MiB-sized steps keep
 * the work off the loop and wait for it a few times only.
 */
const ZLIB_STEP = { chunkSize: 4 * 1024 * 1024 };

/**
 * A partition's checkpoint as records of the state topic, all written in the commit's transaction:
 * - the header, key `\0checkpoint\0<partition>`: headers `format`, `position`, `chunks` (0 = the
 *   data is the header's own value), `sha256` of the compressed data; the value is the gzip data,
 *   or empty when chunked;
 * - when the gzip data is bigger than `CHECKPOINT_CHUNK_BYTES`: chunks, keys
 *   `\0checkpoint\0<partition>\0<i>`, each a slice of it with a `position` header naming the
 *   checkpoint it belongs to;
 * - tombstones for chunk keys an earlier, bigger checkpoint left beyond this one's count.
 * Compaction keeps the latest record per key, so the topic holds one checkpoint per partition.
 */
export interface EncodedCheckpoint {
  /** The chunks, each to be sent in a request of its own: a record batch each, each under the broker's limit. */
  readonly chunks: Message[];
  /** The header and the tombstones (small: they go with the commit's other records). */
  readonly records: Message[];
  /** All of them as the view applies them once committed (chunks first, as they are sent). */
  readonly stored: StoredRecord[];
  /** Compressed size. */
  readonly bytes: number;
}

export async function encodeCheckpoint(
  partition: number,
  checkpoint: Checkpoint,
  { staleSlots = 0, chunkBytes = CHECKPOINT_CHUNK_BYTES }: { staleSlots?: number; chunkBytes?: number } = {},
): Promise<EncodedCheckpoint> {
  // Off the event loop (libuv's pool), at the fastest level: JSON of open windows still shrinks
  // several times, and a commit waits for this.
  const data = await gzipAsync(checkpoint.data, { level: constants.Z_BEST_SPEED, ...ZLIB_STEP });
  const position = String(checkpoint.position);
  const count = data.length > chunkBytes ? Math.ceil(data.length / chunkBytes) : 0;
  const stored: StoredRecord[] = [];
  const chunks: Message[] = [];
  for (let i = 0; i < count; i++) {
    const record = { key: checkpointChunkKey(partition, i), value: data.subarray(i * chunkBytes, (i + 1) * chunkBytes), headers: { position } };
    chunks.push({ ...record, partition });
    stored.push(record);
  }
  const head: StoredRecord = {
    key: checkpointKey(partition),
    value: count === 0 ? data : Buffer.alloc(0),
    headers: { format: String(checkpoint.format), position, chunks: String(count), sha256: createHash('sha256').update(data).digest('hex') },
  };
  const records: Message[] = [{ ...head, partition }];
  stored.push(head);
  for (let i = count; i < staleSlots; i++) {
    records.push({ key: checkpointChunkKey(partition, i), value: null, partition });
    stored.push({ key: checkpointChunkKey(partition, i), value: null });
  }
  return { chunks, records, stored, bytes: data.length };
}

interface Head {
  readonly format: number;
  readonly position: number;
  readonly chunks: number;
  readonly sha256: string;
  readonly inline: Buffer;
}

export type ReadCheckpoint = { readonly ok: true; readonly checkpoint: Checkpoint } | { readonly ok: false; readonly reason: string };

/**
 * What a view holds of one partition's checkpoint records: the latest header and the latest record
 * of each chunk key, as stored (decompressed only when read). A reader that finds a chunk missing,
 * or from another checkpoint, or data that does not match the header's hash, treats the checkpoint
 * as unusable (the processor then rebuilds from the log).
 */
export class CheckpointRecords {
  private head: Head | { readonly unreadable: string } | undefined;
  private readonly parts = new Map<number, { readonly position: string | undefined; readonly data: Buffer }>();

  applyHeader(record: StoredRecord): void {
    if (record.value === null) {
      this.head = undefined;
      return;
    }
    const num = (name: string): number => Number(header(record.headers, name) ?? Number.NaN);
    const head = {
      format: num('format'),
      position: num('position'),
      chunks: num('chunks'),
      sha256: header(record.headers, 'sha256') ?? '',
      inline: record.value,
    };
    const valid = Number.isInteger(head.format) && Number.isInteger(head.position) && head.position >= 0 && Number.isInteger(head.chunks) && head.chunks >= 0;
    this.head = valid ? head : { unreadable: 'its header record is damaged' };
  }

  applyChunk(index: number, record: StoredRecord): void {
    if (record.value === null) this.parts.delete(index);
    else this.parts.set(index, { position: header(record.headers, 'position'), data: record.value });
  }

  /** Chunk keys that hold a record: a new checkpoint with fewer chunks tombstones the rest. */
  slots(): number {
    let n = 0;
    for (const i of this.parts.keys()) n = Math.max(n, i + 1);
    return n;
  }

  /** Bytes held (compressed). */
  bytes(): number {
    let n = this.head === undefined || 'unreadable' in this.head ? 0 : this.head.inline.length;
    for (const p of this.parts.values()) n += p.data.length;
    return n;
  }

  /** The checkpoint, when one is held and whole; else why not; undefined when none was ever written. */
  async read(): Promise<ReadCheckpoint | undefined> {
    const head = this.head;
    if (head === undefined) return undefined;
    if ('unreadable' in head) return { ok: false, reason: head.unreadable };
    const pieces: Buffer[] = [];
    for (let i = 0; i < head.chunks; i++) {
      const part = this.parts.get(i);
      if (part === undefined || part.position !== String(head.position))
        return { ok: false, reason: `chunk ${i + 1} of ${head.chunks} of the checkpoint at position ${head.position} is missing` };
      pieces.push(part.data);
    }
    const data = head.chunks === 0 ? head.inline : Buffer.concat(pieces);
    if (createHash('sha256').update(data).digest('hex') !== head.sha256)
      return { ok: false, reason: `the checkpoint at position ${head.position} does not match its hash (damaged)` };
    try {
      return { ok: true, checkpoint: { format: head.format, position: head.position, data: await gunzipAsync(data, ZLIB_STEP) } };
    } catch (error) {
      return { ok: false, reason: `the checkpoint at position ${head.position} does not decompress (${(error as Error).message})` };
    }
  }
}
