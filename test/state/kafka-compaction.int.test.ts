import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Kafka } from 'kafkajs';
import { silentLogger } from '../../src/logger.ts';
import { KafkaSessionStateStore } from '../../src/state/kafka-session-state-store.ts';
import { SEP } from '../../src/state/kafka-state-view.ts';
import { freshTopics } from '../helpers/kafka-broker.ts';
import { eventually } from '../helpers/turnstream-process.ts';

const T0 = Date.parse('2025-06-01T12:00:00Z');
const v = (dt: number) => ({ time: T0 + dt, seq: -1, id: `e${dt}` });

/** Every record of a topic, read from the beginning: [key, value | null] in offset order per partition. */
async function readRaw(kafka: Kafka, topic: string): Promise<[string, string | null][]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]));
  await admin.disconnect();
  const records: [string, string | null][] = [];
  const consumer = kafka.consumer({ groupId: `raw-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const done = new Set<number>();
  const wanted = [...ends].filter(([, high]) => high > 0).map(([p]) => p);
  await new Promise<void>((resolve) => {
    if (wanted.length === 0) return resolve();
    void consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) records.push([m.key?.toString() ?? '', m.value === null ? null : m.value.toString()]);
        if (Number(batch.lastOffset()) + 1 >= (ends.get(batch.partition) ?? 0)) done.add(batch.partition);
        if (wanted.every((p) => done.has(p))) resolve();
      },
    });
  });
  await consumer.disconnect();
  return records;
}

describe('compaction of the state topic (real broker, real log cleaner)', { timeout: 120_000 }, () => {
  it('keeps only the latest value per key, drops tombstoned keys, and a fresh process restores exactly the latest state', async () => {
    // Created with the broker's default segments, so nothing can be compacted before the writes are
    // checked; the fast-cleaning configs are switched on after that check (below).
    const { kafka, topics, prefix } = await freshTopics({ partitions: 1 });
    const open = () => KafkaSessionStateStore.open({ kafka, topics, partitions: 1, transactionalIdPrefix: prefix, logger: silentLogger });
    const store = await open();
    for (let i = 1; i <= 5; i++) await store.set('s1', 'plan', { step: i }, v(i));
    await store.set('s1', 'scratch', 'temp', v(1));
    await store.delete('s1', 'scratch', v(2));
    await store.set('s2', 'plan', 'other session', v(1));
    await store.commit({
      writes: [],
      deltas: [
        {
          session: 's1',
          turns: 1,
          llmCalls: 2,
          toolCalls: 0,
          inputTokens: 10,
          outputTokens: 5,
          cacheReadTokens: 0,
          cacheWriteTokens: 0,
          reasoningTokens: 0,
          cost: 0.5,
          errors: 0,
          firstMs: T0,
          lastMs: T0,
        },
      ],
      turns: [],
      position: 7,
    });
    const before = await readRaw(kafka, topics.state);
    assert.equal(before.filter(([k]) => k === `s1${SEP}plan`).length, 5, 'all five writes are in the log before compaction');

    // Now small segments and a low dirty ratio so the cleaner runs within seconds (it never compacts
    // the active segment); a short delete.retention.ms so tombstones themselves go away. AlterConfigs
    // replaces the topic's whole config, so cleanup.policy is restated.
    const admin = kafka.admin();
    await admin.connect();
    const fast = {
      'cleanup.policy': 'compact',
      'segment.ms': '200',
      'min.cleanable.dirty.ratio': '0.01',
      'delete.retention.ms': '200',
      'min.compaction.lag.ms': '0',
    };
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        { type: 2 /* ConfigResourceTypes.TOPIC */, name: topics.state, configEntries: Object.entries(fast).map(([name, value]) => ({ name, value })) },
      ],
    });
    await admin.disconnect();

    // Keep writing an unrelated key so segments roll and the cleaner has closed segments to clean.
    await eventually(
      'the log cleaner compacts the state topic',
      async () => {
        await store.set('roll', 'tick', Date.now(), v(Date.now() - T0));
        const raw = await readRaw(kafka, topics.state);
        const plans = raw.filter(([k]) => k === `s1${SEP}plan`);
        const scratch = raw.filter(([k]) => k === `s1${SEP}scratch`);
        return plans.length === 1 && scratch.length === 0;
      },
      90_000,
    );
    const after = await readRaw(kafka, topics.state);
    assert.deepEqual(JSON.parse(after.find(([k]) => k === `s1${SEP}plan`)![1]!).value, { step: 5 }, 'the latest value survives');
    await store.close();

    const fresh = await open(); // a new process: restores from the compacted topic alone
    assert.deepEqual(await fresh.list('s1'), { plan: { step: 5 } });
    assert.deepEqual(await fresh.list('s2'), { plan: 'other session' });
    assert.equal(await fresh.get('s1', 'scratch'), undefined, 'the tombstoned key is gone');
    assert.equal((await fresh.totals('s1'))?.llmCalls, 2);
    assert.equal(await fresh.position(), 7);
    await fresh.close();
  });
});
