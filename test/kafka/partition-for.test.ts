import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { murmur2, partitionFor } from '../../src/kafka/partition-for.ts';

interface Vector {
  readonly key: string;
  readonly murmur2: number;
  /** Partition count → the partition the Java client's default partitioner picks for the key. */
  readonly partition: Record<string, number>;
}

// Computed by the real Java client (kafka-clients' Utils.murmur2 and toPositive(hash) % n, the
// default partitioner's rule); the command that regenerates them is in the file's generatedBy.
const FIXTURE = JSON.parse(readFileSync(new URL('murmur2-vectors.json', import.meta.url), 'utf8')) as { generatedBy: string; vectors: Vector[] };
const vectors = FIXTURE.vectors;

describe('partitionFor: the partition a Java producer would pick for the same key', () => {
  it('covers empty, every tail length, multi-byte UTF-8 and long keys at partition counts 1, 3, 6, 7, 100', () => {
    assert.ok(vectors.length >= 30, `${vectors.length} vectors`);
    const lengths = new Set(vectors.map((v) => Buffer.byteLength(v.key) % 4));
    assert.deepEqual([...lengths].sort(), [0, 1, 2, 3]);
    assert.ok(vectors.some((v) => v.key === ''));
    assert.ok(
      vectors.some((v) => Buffer.byteLength(v.key) > v.key.length),
      'no multi-byte key',
    );
    assert.ok(
      vectors.some((v) => v.key.length >= 1000),
      'no long key',
    );
    for (const v of vectors)
      assert.deepEqual(
        Object.keys(v.partition)
          .map(Number)
          .sort((a, b) => a - b),
        [1, 3, 6, 7, 100],
        v.key,
      );
  });

  it('murmur2 equals Utils.murmur2 of the UTF-8 bytes, sign included', () => {
    for (const v of vectors) assert.equal(murmur2(v.key), v.murmur2, JSON.stringify(v.key));
    assert.ok(
      vectors.some((v) => v.murmur2 < 0),
      'no negative hash: the sign handling is untested',
    );
  });

  it('partitionFor equals toPositive(murmur2(key)) % n from the Java client', () => {
    for (const v of vectors) {
      for (const [n, p] of Object.entries(v.partition)) assert.equal(partitionFor(v.key, Number(n)), p, `${JSON.stringify(v.key)} over ${n}`);
    }
  });

  it("agrees with kafkajs's Java-compatible partitioner for keyed messages (the producer's own choice)", () => {
    const partition = kafkajs.Partitioners.DefaultPartitioner();
    for (const v of vectors) {
      for (const [n, p] of Object.entries(v.partition)) {
        const partitionMetadata = Array.from({ length: Number(n) }, (_, i) => ({ partitionId: i, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
        assert.equal(partition({ topic: 't', partitionMetadata, message: { key: v.key, value: null } }), p, `${JSON.stringify(v.key)} over ${n}`);
      }
    }
  });
});
