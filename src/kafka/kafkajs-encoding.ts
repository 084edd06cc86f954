import { createRequire, Module } from 'node:module';

const require = createRequire(import.meta.url);

/** The kafkajs release these fixes are written against: its internals are not an API. */
export const KAFKAJS_PATCHED_VERSION = '2.2.4';

interface EncoderClass {
  new (): { buf: Buffer; offset: number; ensureAvailable(n: number): void };
  prototype: Record<string, unknown>;
  sizeOfVarLong(value: unknown): number;
  nextPowerOfTwo(value: number): number;
}

type Grouped = Record<number, unknown[]>;
type GroupArgs = {
  topic: string;
  partitionMetadata: readonly unknown[];
  messages: readonly unknown[];
  partitioner: (o: { topic: string; partitionMetadata: readonly unknown[]; message: unknown }) => number;
};

/**
 * kafkajs's `groupMessagesPerPartition`, linear: the same object (partition → its messages in
 * order), built by pushing instead of copying the partition's list once per message (2,000 messages
 * over 6 partitions: ~330,000 element copies a send).
 */
export function groupMessagesPerPartition({ topic, partitionMetadata, messages, partitioner }: GroupArgs): Grouped {
  if (partitionMetadata.length === 0) return {};
  const result: Grouped = {};
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    const current = result[partition];
    if (current === undefined) result[partition] = [message];
    else current.push(message);
  }
  return result;
}

/** `value` as kafkajs's varlong would see it, when a double holds its zigzag exactly; else undefined. */
function zigzag64(value: unknown): number | undefined {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || Math.abs(value) >= 2 ** 51) return undefined;
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

/**
 * Makes kafkajs's producer encoding cheaper without changing a byte it writes. kafkajs 2.2.4 (no
 * release since 2023) encodes every record with a `Buffer.from([...])` per varint, 64-bit `Long`
 * arithmetic for each record's timestamp delta, a zero-filled 512-byte buffer for every record, and groups a send's
 * messages by partition in quadratic time: together ~30 % of a Kafka-mode process's main thread
 * (CPU profile of `bench --kafka`). Here: varints written straight into the encoder's buffer, the
 * timestamp delta's varlong in double arithmetic when it fits (it is milliseconds within one
 * batch), buffers by `allocUnsafe` from the first write on (the encoder only ever exposes the
 * bytes it wrote), a linear grouping, and the batch checksum eight bytes a step. `test/kafka/kafkajs-encoding.test.ts` checks the bytes against kafkajs's own code.
 *
 * Applied once, before kafkajs is first loaded (the grouping and checksum functions are captured
 * by the modules that use them when they load); with another kafkajs version nothing is changed.
 */
export function patchKafkajsEncoding(): boolean {
  if (installedKafkajsVersion() !== KAFKAJS_PATCHED_VERSION) return false;
  seed('kafkajs/src/producer/groupMessagesPerPartition.js', groupMessagesPerPartition);
  seed('kafkajs/src/protocol/recordBatch/crc32C/index.js', crc32c);
  const Encoder = require('kafkajs/src/protocol/encoder.js') as EncoderClass;
  if (Encoder.prototype['turnstreamPatched'] !== true) patchEncoder(Encoder);
  return true;
}

/** The installed kafkajs's version; undefined when its package.json cannot be read (a release that no longer exports it). */
function installedKafkajsVersion(): string | undefined {
  try {
    return (require('kafkajs/package.json') as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/** Puts `exports` in place of the kafkajs module at `path`, for the modules that load it later. */
function seed(path: string, exports: unknown): void {
  const file = require.resolve(path);
  if (require.cache[file] !== undefined) return;
  const m = new Module(file);
  m.filename = file;
  m.exports = exports;
  m.loaded = true;
  require.cache[file] = m;
}

/** CRC-32C (Castagnoli, reflected 0x82F63B78) tables for 8 bytes at a time: table k at [256 k, 256 k + 256). */
const CRC_TABLES = (() => {
  const t = new Int32Array(8 * 256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c;
  }
  for (let i = 0; i < 256; i++) for (let k = 1; k < 8; k++) t[k * 256 + i] = (t[(k - 1) * 256 + i]! >>> 8) ^ t[t[(k - 1) * 256 + i]! & 0xff]!;
  return t;
})();

/**
 * The CRC-32C of a record batch, as kafkajs's `crc32C` module gives it (an unsigned number), eight
 * bytes a step (slicing-by-8) instead of one: kafkajs checksums every batch it produces in
 * JavaScript, ~3 % of a Kafka-mode main thread.
 */
export function crc32c(buffer: Uint8Array): number {
  const t = CRC_TABLES;
  let crc = -1;
  let i = 0;
  for (const end8 = buffer.length - 7; i < end8; i += 8) {
    crc ^= buffer[i]! | (buffer[i + 1]! << 8) | (buffer[i + 2]! << 16) | (buffer[i + 3]! << 24);
    crc =
      t[1792 + (crc & 0xff)]! ^
      t[1536 + ((crc >>> 8) & 0xff)]! ^
      t[1280 + ((crc >>> 16) & 0xff)]! ^
      t[1024 + (crc >>> 24)]! ^
      t[768 + buffer[i + 4]!]! ^
      t[512 + buffer[i + 5]!]! ^
      t[256 + buffer[i + 6]!]! ^
      t[buffer[i + 7]!]!;
  }
  for (; i < buffer.length; i++) crc = t[(crc ^ buffer[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}

type Writable = { buf: Buffer; offset: number; ensureAvailable(n: number): void };

/** Varints written in place, varlongs in doubles when exact, growth without zero-filling (see `patchKafkajsEncoding`). */
function patchEncoder(Encoder: EncoderClass): void {
  const proto = Encoder.prototype;
  proto['turnstreamPatched'] = true;
  // Only the constructor calls it now (the replaced `ensureAvailable` did too): every encoder starts
  // with an empty buffer instead of a zero-filled 512 bytes (one per record: 9 % of a Kafka-mode
  // main thread), and its first write takes a pooled one.
  Encoder.nextPowerOfTwo = (): number => 0;
  proto['ensureAvailable'] = function ensureAvailable(this: Writable, length: number): void {
    if (this.offset + length <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(512, 1 << (31 - Math.clz32(this.offset + length) + 1)));
    this.buf.copy(grown, 0, 0, this.offset);
    this.buf = grown;
  };
  proto['writeUVarInt'] = function writeUVarInt(this: Writable, value: number): Writable {
    this.ensureAvailable(5);
    const buf = this.buf;
    let at = this.offset;
    let v = value;
    while ((v & 0xffffff80) !== 0) {
      buf[at++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[at++] = v & 0x7f;
    this.offset = at;
    return this;
  };
  const writeVarLong = proto['writeVarLong'] as (this: Writable, value: unknown) => Writable;
  proto['writeVarLong'] = function fastWriteVarLong(this: Writable, value: unknown): Writable {
    let v = zigzag64(value);
    if (v === undefined) return writeVarLong.call(this, value);
    this.ensureAvailable(8);
    const buf = this.buf;
    let at = this.offset;
    while (v >= 0x80) {
      buf[at++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    buf[at++] = v;
    this.offset = at;
    return this;
  };
  const sizeOfVarLong = Encoder.sizeOfVarLong.bind(Encoder);
  Encoder.sizeOfVarLong = (value: unknown): number => {
    let v = zigzag64(value);
    if (v === undefined) return sizeOfVarLong(value);
    let bytes = 1;
    for (; v >= 0x80; bytes++) v = Math.floor(v / 0x80);
    return bytes;
  };
}

/** kafkajs, loaded with `patchKafkajsEncoding` applied first. */
export function loadKafkajs(): typeof import('kafkajs') {
  patchKafkajsEncoding();
  return require('kafkajs') as typeof import('kafkajs');
}
