import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { KAFKAJS_PATCHED_VERSION, crc32c, groupMessagesPerPartition, loadKafkajs, patchKafkajsEncoding } from '../../src/kafka/kafkajs-encoding.ts';

const require = createRequire(import.meta.url);

/** A module of kafkajs as kafkajs itself ships it: loaded with every kafkajs module fresh (none of the patches), the cache put back after. */
function unpatched<T>(path: string): T {
  const isKafkajs = (k: string): boolean => k.includes('/node_modules/kafkajs/');
  const saved = Object.entries(require.cache).filter(([k]) => isKafkajs(k));
  for (const [k] of saved) delete require.cache[k];
  try {
    return require(`kafkajs/${path}`) as T;
  } finally {
    for (const k of Object.keys(require.cache)) if (isKafkajs(k)) delete require.cache[k];
    for (const [k, m] of saved) require.cache[k] = m;
  }
}

interface ProduceRequest {
  encode(): Promise<{ buffer: Buffer }>;
}
type Produce = (o: object) => ProduceRequest;
interface Encoder {
  buffer: Buffer;
  writeUVarInt(v: number): Encoder;
  writeVarInt(v: number): Encoder;
  writeVarLong(v: unknown): Encoder;
  writeString(v: string): Encoder;
  writeInt32(v: number): Encoder;
}
type EncoderClass = (new () => Encoder) & { sizeOfVarLong(v: unknown): number };

const VARINTS = [0, 1, -1, 63, -64, 64, 127, 128, 255, 300, 16_383, 16_384, -16_385, 2 ** 21, 2 ** 28 - 1, 2 ** 30, -(2 ** 31), 2 ** 31 - 1];
const VARLONGS = [...VARINTS, 2 ** 35, -(2 ** 35), 1_764_000_000_000, -1_764_000_000_000, 2 ** 50, -(2 ** 50), 2 ** 51, 2 ** 53 - 1];

describe('kafkajs producer encoding (patched for speed): the same bytes as kafkajs writes', () => {
  const original = unpatched<EncoderClass>('src/protocol/encoder.js');
  loadKafkajs();
  const patched = require('kafkajs/src/protocol/encoder.js') as EncoderClass;
  const Long = require('kafkajs/src/utils/long.js') as { fromString(s: string): unknown; fromNumber(n: number): unknown };

  it(`applies to kafkajs ${KAFKAJS_PATCHED_VERSION}, the version installed`, () => {
    assert.equal((require('kafkajs/package.json') as { version: string }).version, KAFKAJS_PATCHED_VERSION);
    assert.equal(patchKafkajsEncoding(), true);
    assert.notEqual(original, patched, 'the comparison needs kafkajs’s own encoder');
  });

  it('varints, varlongs (numbers and Longs) and their sizes', () => {
    const longs = [...VARLONGS, Long.fromString('9223372036854775807'), Long.fromString('-9223372036854775808'), Long.fromNumber(-7)];
    for (const v of VARINTS) {
      assert.deepEqual(new patched().writeUVarInt(v >>> 0).buffer, new original().writeUVarInt(v >>> 0).buffer, `uvarint ${v}`);
      assert.deepEqual(new patched().writeVarInt(v).buffer, new original().writeVarInt(v).buffer, `varint ${v}`);
    }
    for (const v of longs) {
      assert.deepEqual(new patched().writeVarLong(v).buffer, new original().writeVarLong(v).buffer, `varlong ${String(v)}`);
      assert.equal(patched.sizeOfVarLong(v), original.sizeOfVarLong(v), `sizeOfVarLong ${String(v)}`);
    }
    // Not an integer: kafkajs refuses it, and so does the patched path (it hands it to kafkajs).
    for (const v of [1.5, -2.5]) {
      assert.throws(() => new original().writeVarLong(v), RangeError);
      assert.throws(() => new patched().writeVarLong(v), RangeError);
    }
  });

  it('a long mixed sequence, through many buffer growths', () => {
    const a = new original();
    const b = new patched();
    for (let i = 0; i < 5_000; i++) {
      const v = VARLONGS[i % VARLONGS.length]!;
      for (const e of [a, b])
        e.writeVarLong(v)
          .writeVarInt(i - 2_500)
          .writeString(`s-${i}`)
          .writeUVarInt(i * 977)
          .writeInt32(i);
    }
    assert.deepEqual(b.buffer, a.buffer);
  });

  it('groups messages per partition as kafkajs does (same partitions, same order within each)', () => {
    const originalGroup = unpatched<typeof groupMessagesPerPartition>('src/producer/groupMessagesPerPartition.js');
    const messages = Array.from({ length: 2_000 }, (_, i) => ({ key: `s-${(i * 7919) % 313}`, value: `v${i}`, partition: (i * 31) % 6 }));
    const args = {
      topic: 't',
      partitionMetadata: [{}, {}, {}, {}, {}, {}],
      messages,
      partitioner: ({ message }: { message: unknown }) => (message as { partition: number }).partition,
    };
    assert.deepEqual(groupMessagesPerPartition(args), originalGroup(args));
    assert.deepEqual(groupMessagesPerPartition({ ...args, partitionMetadata: [] }), originalGroup({ ...args, partitionMetadata: [] }));
  });

  it('checksums as kafkajs does: the CRC-32C check value, every length around the 8-byte steps, large batches', () => {
    const originalCrc = unpatched<(b: Buffer) => number>('src/protocol/recordBatch/crc32C/index.js');
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
    let seed = 7;
    const next = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed & 0xff;
    };
    const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, next));
    for (let n = 0; n <= 70; n++) {
      const b = bytes(n);
      assert.equal(crc32c(b), originalCrc(b), `${n} bytes`);
    }
    for (const n of [4_093, 65_536, 700_001]) {
      const b = bytes(n);
      assert.equal(crc32c(b), originalCrc(b), `${n} bytes`);
      assert.equal(crc32c(b.subarray(3)), originalCrc(b.subarray(3)), `${n - 3} bytes at an offset`);
    }
  });

  it('a whole transactional produce request (record batches, headers, keys, null values, CRC): byte for byte', async () => {
    const producePath = 'src/protocol/requests/produce/v3/request.js';
    const originalProduce = unpatched<Produce>(producePath);
    const patchedProduce = require(`kafkajs/${producePath}`) as Produce;
    const start = 1_764_000_000_000;
    const topicData = [0, 1, 2].map((partition) => ({
      topic: 'turnstream.events',
      partitions: [
        {
          partition,
          firstSequence: partition * 1_000,
          messages: Array.from({ length: 400 }, (_, i) => ({
            key: i % 50 === 0 ? null : `session-${partition}-${i % 17}`,
            value: i % 97 === 0 ? null : JSON.stringify({ v: 1, id: `e-${i}`, text: 'ü€'.repeat(i % 40), n: i }),
            timestamp: String(start + ((i * 37) % 90_000)),
            headers: i % 3 === 0 ? { rev: String(i), pos: [String(i), String(i + 1)] } : {},
          })),
        },
      ],
    }));
    const request = { acks: -1, timeout: 30_000, transactionalId: 'turnstream-p3', producerId: Long.fromNumber(4242), producerEpoch: 3, topicData };
    const [expected, actual] = await Promise.all([originalProduce(request).encode(), patchedProduce(request).encode()]);
    assert.ok(expected.buffer.length > 100_000);
    assert.deepEqual(actual.buffer, expected.buffer);
  });
});
