import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Kafka } from 'kafkajs';
import { createLogger, silentLogger } from '../../src/logger.ts';
import type { TurnAggregate } from '../../src/model/turn-aggregate.ts';
import { CHECKPOINT_CHUNK_BYTES } from '../../src/state/kafka-checkpoint-records.ts';
import { checkpointChunkKey, checkpointKey } from '../../src/state/kafka-state-records.ts';
import { KafkaSessionStateStore } from '../../src/state/kafka-session-state-store.ts';
import type { Checkpoint } from '../../src/state/session-state-store.ts';
import type { TopicNames } from '../../src/kafka/topics.ts';
import { freshTopics } from '../helpers/kafka-broker.ts';

const PARTITION = 1;

/** Every record of one partition of a topic, from the beginning: [key, value bytes | null]. */
async function readPartition(kafka: Kafka, topic: string, partition: number): Promise<[string, number | null][]> {
  const admin = kafka.admin();
  await admin.connect();
  const high = Number((await admin.fetchTopicOffsets(topic)).find((o) => o.partition === partition)?.high ?? 0);
  await admin.disconnect();
  const records: [string, number | null][] = [];
  const consumer = kafka.consumer({ groupId: `raw-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve) => {
    void consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        if (batch.partition !== partition) return;
        for (const m of batch.messages) records.push([m.key?.toString() ?? '', m.value === null ? null : m.value.length]);
        if (Number(batch.lastOffset()) + 1 >= high) resolve();
      },
    });
  });
  await consumer.disconnect();
  return records;
}

function turn(session: string, id: string, closedAtPos: number): TurnAggregate {
  return {
    session,
    turn: id,
    revision: 0,
    status: 'completed',
    startMs: 1,
    endMs: 2,
    closedAtPos,
    llmCalls: 1,
    toolCalls: 0,
    errors: 0,
    inputTokens: 1,
    outputTokens: 1,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    reasoningTokens: 0,
    cost: 0,
    toolNames: [],
    models: {},
    llm: [],
    tools: [],
  } as unknown as TurnAggregate;
}

async function setup(): Promise<{ kafka: Kafka; topics: TopicNames; open: (logger?: ReturnType<typeof createLogger>) => Promise<KafkaSessionStateStore> }> {
  const { kafka, topics, prefix } = await freshTopics({ partitions: 3 });
  const open = (logger = silentLogger) =>
    KafkaSessionStateStore.open({ kafka, topics, partitions: 3, partition: PARTITION, transactionalIdPrefix: prefix, logger });
  return { kafka, topics, open };
}

describe('Kafka checkpoints in the state topic (real broker)', { timeout: 180_000 }, () => {
  it('round trip: a small checkpoint inline, a >1 MB one in chunks (same transaction), a smaller one after it; each survives a reopen', async () => {
    const { kafka, topics, open } = await setup();
    let store = await open();
    try {
      assert.equal(await store.checkpoint(), undefined, 'none before the first');
      const small: Checkpoint = { format: 1, position: 5, data: Buffer.from(JSON.stringify({ windows: ['open turn'] })) };
      await store.commit({ writes: [], deltas: [], turns: [turn('s', 't1', 4)], position: 5, checkpoint: small });
      assert.deepEqual(await store.checkpoint(), small);
      assert.equal(store.closedTurnAt('s', 't1'), 4, 'closedTurnAt reads the stored turn');
      assert.equal(store.closedTurnAt('s', 'nope'), undefined);

      // Random base64 hardly compresses: ~2.7 MB of text, ~2 MB gzip, so several chunks.
      const big: Checkpoint = { format: 1, position: 9, data: randomBytes(2_000_000) };
      await store.commit({ writes: [], deltas: [], turns: [], position: 9, checkpoint: big });
      assert.deepEqual(await store.checkpoint(), big);
      await store.close();
      store = await open();
      assert.deepEqual(await store.checkpoint(), big, 'restored from the topic by a fresh view');
      const records = await readPartition(kafka, topics.state, PARTITION);
      const chunks = records.filter(([k, v]) => k.startsWith(`${checkpointKey(PARTITION)}\u0000`) && v !== null);
      assert.ok(chunks.length >= 3, `the big checkpoint is in ${chunks.length} chunks`);
      for (const [, bytes] of chunks) assert.ok(bytes! <= CHECKPOINT_CHUNK_BYTES, 'each chunk under the limit');

      // A checkpoint alone at the committed position (a clean shutdown's) is stored too; the
      // chunks the big one left are tombstoned.
      const after: Checkpoint = { format: 1, position: 9, data: Buffer.from('{"windows":[]}') };
      await store.commit({ writes: [], deltas: [], turns: [], position: 9, checkpoint: after });
      assert.deepEqual(await store.checkpoint(), after);
      assert.equal(await store.position(), 9);
      await store.close();
      store = await open();
      assert.deepEqual(await store.checkpoint(), after);
      const tail = (await readPartition(kafka, topics.state, PARTITION)).slice(-(chunks.length + 2));
      for (let i = 0; i < chunks.length; i++)
        assert.ok(
          tail.some(([k, v]) => k === checkpointChunkKey(PARTITION, i) && v === null),
          `chunk ${i} tombstoned`,
        );
      // An older position is still ignored whole, checkpoint included.
      await store.commit({ writes: [], deltas: [], turns: [], position: 3, checkpoint: small });
      assert.deepEqual(await store.checkpoint(), after);
    } finally {
      await store.close();
    }
  });

  it('a damaged checkpoint (bad data, or a chunk missing) reads as none, with a warning saying why', async () => {
    const { kafka, topics, open } = await setup();
    const lines: string[] = [];
    const logger = createLogger({ level: 'warn', write: (line) => lines.push(line) });
    let store = await open(logger);
    const big: Checkpoint = { format: 1, position: 7, data: randomBytes(1_200_000) };
    await store.commit({ writes: [], deltas: [], turns: [], position: 7, checkpoint: big });
    await store.close();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      // The first chunk replaced by one of another checkpoint: the chunk set no longer matches.
      await producer.send({
        topic: topics.state,
        messages: [{ key: checkpointChunkKey(PARTITION, 0), value: Buffer.from('x'), headers: { position: '3' }, partition: PARTITION }],
      });
      store = await open(logger);
      assert.equal(await store.checkpoint(), undefined);
      assert.match(lines.join('\n'), /checkpoint is unusable.*chunk 1 of \d+ of the checkpoint at position 7 is missing/);
      assert.equal(await store.position(), 7, 'the committed position is not the checkpoint: it stays');
      await store.close();

      // A header whose data does not match its hash.
      const headers = { format: '1', position: '7', chunks: '0', sha256: '00' };
      await producer.send({
        topic: topics.state,
        messages: [{ key: checkpointKey(PARTITION), value: Buffer.from('not gzip'), headers, partition: PARTITION }],
      });
      store = await open(logger);
      assert.equal(await store.checkpoint(), undefined);
      assert.match(lines.join('\n'), /does not match its hash/);
      await store.close();

      // A header that is not ours at all (no headers): damaged, not a crash of the view.
      await producer.send({ topic: topics.state, messages: [{ key: checkpointKey(PARTITION), value: Buffer.from('{}'), partition: PARTITION }] });
      store = await open(logger);
      assert.equal(await store.checkpoint(), undefined);
      assert.match(lines.join('\n'), /header record is damaged/);
    } finally {
      await store.close();
      await producer.disconnect();
    }
  });
});
