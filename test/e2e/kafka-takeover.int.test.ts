import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import type { Kafka } from 'kafkajs';
import { postEvents } from '../../src/client/post-events.ts';
import { createPriceTable } from '../../src/events/price-table.ts';
import { createKafka } from '../../src/kafka/create-kafka.ts';
import { partitionFor } from '../../src/kafka/partition-for.ts';
import { topicNames, type TopicNames } from '../../src/kafka/topics.ts';
import { createLogger, silentLogger } from '../../src/logger.ts';
import { openKafkaPipeline, type KafkaPipeline } from '../../src/pipeline/open-kafka-pipeline.ts';
import { checkpointKey } from '../../src/state/kafka-state-records.ts';
import { KafkaStateQueries } from '../../src/state/kafka-state-queries.ts';
import { KafkaStateView } from '../../src/state/kafka-state-view.ts';
import { kafkaBrokers } from '../helpers/kafka-broker.ts';
import { eventually, startTurnstreamProcess, type TurnstreamProcess } from '../helpers/turnstream-process.ts';
import { assertExact, MANY_SESSIONS, MANY_TURNS, manySession, manyStream, manyTotals } from './many-sessions-stream.ts';

const PARTITIONS = 6;
const STREAM = manyStream();
/** Where the stream is cut: mid-turn for many sessions, so checkpoints carry open turns. */
const CUT = Math.floor(STREAM.length * 0.6) + 1;
type LogLine = Record<string, unknown> & { msg: string };

const linesOf = (logs: readonly LogLine[], msg: string): LogLine[] => logs.filter((l) => l.msg === msg);
const parseLog = (text: string): LogLine[] =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);

function deployment() {
  const prefix = `takeover-${randomUUID().slice(0, 8)}`;
  const brokers = kafkaBrokers();
  const kafka = createKafka({ brokers }, silentLogger);
  const topics = topicNames(prefix);
  const closing: (() => Promise<unknown>)[] = [];
  const open = async (logs: LogLine[] = []): Promise<KafkaPipeline> => {
    const logger = createLogger({ level: 'info', write: (line) => logs.push(JSON.parse(line) as LogLine) });
    const p = await openKafkaPipeline({
      brokers,
      prices: createPriceTable(),
      topicPrefix: prefix,
      groupId: prefix,
      partitions: PARTITIONS,
      checkpoints: { everyEvents: 30, everyMs: 200 },
      logger,
    });
    closing.push(() => p.close());
    return p;
  };
  return { prefix, brokers, kafka, topics, open, close: () => Promise.all(closing.map((c) => c())) };
}

async function ingest(p: KafkaPipeline, lines: readonly string[]): Promise<void> {
  for (let i = 0; i < lines.length; i += 50) {
    const results = await p.ingestor.ingest(lines.slice(i, i + 50), 'test');
    assert.ok(
      results.every((r) => r.status === 'accepted'),
      JSON.stringify(results.find((r) => r.status !== 'accepted')),
    );
  }
}

async function highs(kafka: Kafka, topic: string): Promise<Map<number, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]));
  } finally {
    await admin.disconnect();
  }
}

/** Until every partition's committed position (in whichever view holds it) reaches the events topic's end. */
async function processed(kafka: Kafka, topics: TopicNames, positionOf: (partition: number) => number): Promise<void> {
  const ends = await highs(kafka, topics.events);
  await eventually('every partition processed to its end', () => [...ends].every(([p, high]) => positionOf(p) >= high), 90_000);
}

const partitionsWithSessions = [...new Set(Array.from({ length: MANY_SESSIONS }, (_, s) => partitionFor(manySession(s), PARTITIONS)))].sort();

describe('Kafka takeover from checkpoints (real broker)', { timeout: 300_000 }, () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const c of cleanups) await c();
  });

  it('the stream has sessions on every partition (precondition of the tests below)', () => {
    assert.deepEqual(partitionsWithSessions, [0, 1, 2, 3, 4, 5]);
  });

  it('a process owning 3 of 6 partitions holds state for those 3 only; a session of the others is read from its partition', async () => {
    const d = deployment();
    cleanups.push(d.close);
    const a = await d.open();
    const b = await d.open();
    await eventually('3 partitions each', () => a.assigned().length === 3 && b.assigned().length === 3, 60_000);
    await ingest(a, STREAM);
    const holder = (p: number): KafkaPipeline => (a.assigned().includes(p) ? a : b);
    await processed(d.kafka, d.topics, (p) => holder(p).view.positions.get(p) ?? 0);
    for (const [me, other] of [
      [a, b],
      [b, a],
    ] as const) {
      const mine = me.assigned();
      assert.deepEqual(me.view.heldPartitions(), mine, 'the view holds exactly the assigned partitions');
      assert.deepEqual([...me.view.sizes().keys()], mine);
      assert.deepEqual([...me.view.positions.keys()].sort(), mine, 'positions of its own partitions only');
      const sessions = Array.from({ length: MANY_SESSIONS }, (_, s) => manySession(s));
      const own = sessions.filter((s) => mine.includes(partitionFor(s, PARTITIONS)));
      assert.equal(
        [...me.view.sizes().values()].reduce((n, x) => n + x.sessions, 0),
        own.length,
        'sessions held: its own',
      );
      // A checkpoint begun with a partition's last batch is finished once the partition is caught up, not with a next batch.
      await eventually('a checkpoint held per own partition', () => [...me.view.sizes().values()].every((x) => x.checkpointBytes > 0), 15_000);
      for (const s of sessions) {
        if (own.includes(s)) assert.equal(me.view.totalsOf(s)?.turns, MANY_TURNS, s);
        else {
          assert.equal(me.view.totalsOf(s), undefined, `${s} is not held here`);
          assert.equal(other.view.totalsOf(s)?.turns, MANY_TURNS, `${s} is held by the other process`);
        }
      }
      // A query for a session the process does not hold reads that session's partition.
      const foreign = sessions.find((s) => !own.includes(s))!;
      const queries = new KafkaStateQueries({ kafka: me.kafka, topics: d.topics, logger: silentLogger, view: me.view });
      assert.equal((await queries.totals(foreign))?.inputTokens, manyTotals(Number(foreign.split('-')[1])).inputTokens);
      assert.deepEqual(await queries.list(foreign), { progress: MANY_TURNS - 1 });
      assert.equal((await queries.turns(foreign)).length, MANY_TURNS);
      assert.equal((await queries.sessions({ limit: 100 })).length, MANY_SESSIONS, 'a listing covers every partition');
    }
  });

  it('a restart resumes each partition from its checkpoint, not offset 0, with exact totals', async () => {
    const d = deployment();
    cleanups.push(d.close);
    const first = await d.open();
    await ingest(first, STREAM.slice(0, CUT));
    await processed(d.kafka, d.topics, (p) => first.view.positions.get(p) ?? 0);
    await first.close(); // a clean stop: a last checkpoint at the committed position
    const logs: LogLine[] = [];
    const second = await d.open(logs);
    await ingest(second, STREAM.slice(CUT));
    await processed(d.kafka, d.topics, (p) => second.view.positions.get(p) ?? 0);
    const assigned = linesOf(logs, 'partition assigned');
    const reading = linesOf(logs, 'partition reading');
    assert.deepEqual(assigned.map((l) => l['partition']).sort(), [0, 1, 2, 3, 4, 5]);
    for (const l of assigned) {
      assert.ok((l['resumeFrom'] as number) > 0, `partition ${l['partition']} restored a checkpoint`);
      assert.equal(l['resumeFrom'], l['committed'], 'after a clean stop the checkpoint is at the committed position');
      const r = reading.find((x) => x['partition'] === l['partition']);
      assert.equal(r?.['fromOffset'], l['resumeFrom'], `partition ${l['partition']} read from its checkpoint, not from 0`);
    }
    await assertExact(d.kafka, d.topics);
  });

  it('a damaged checkpoint makes the partition rebuild from offset 0, with exact totals', async () => {
    const d = deployment();
    cleanups.push(d.close);
    const first = await d.open();
    await ingest(first, STREAM.slice(0, CUT));
    await processed(d.kafka, d.topics, (p) => first.view.positions.get(p) ?? 0);
    await first.close();
    const producer = d.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const damaged = [1, 4];
    for (const p of damaged) {
      const headers = { format: '1', position: '1', chunks: '0', sha256: 'bad' };
      await producer.send({ topic: d.topics.state, messages: [{ key: checkpointKey(p), value: Buffer.from('damaged'), headers, partition: p }] });
    }
    await producer.disconnect();
    const logs: LogLine[] = [];
    const second = await d.open(logs);
    await ingest(second, STREAM.slice(CUT));
    await processed(d.kafka, d.topics, (p) => second.view.positions.get(p) ?? 0);
    for (const l of linesOf(logs, 'partition assigned')) {
      const p = l['partition'] as number;
      const r = linesOf(logs, 'partition reading').find((x) => x['partition'] === p);
      if (damaged.includes(p)) {
        assert.equal(l['resumeFrom'], 0, `partition ${p}: no usable checkpoint`);
        assert.equal(r?.['fromOffset'], 0, `partition ${p} rebuilt from offset 0`);
      } else assert.ok((r?.['fromOffset'] as number) > 0, `partition ${p} resumed from its checkpoint`);
    }
    assert.equal(linesOf(logs, 'the stored checkpoint is unusable; rebuilding from the start of the partition').length, damaged.length);
    await assertExact(d.kafka, d.topics);
  });

  it('kill -9 of one of two processes: the other takes its partitions over from their checkpoints within the configured session timeout, with exact totals', async () => {
    const prefix = `takeover-${randomUUID().slice(0, 8)}`;
    const brokers = kafkaBrokers();
    const kafka = createKafka({ brokers }, silentLogger);
    const topics = topicNames(prefix);
    const args = ['--kafka', brokers.join(','), '--kafka-topic-prefix', prefix, '--kafka-group', prefix, '--kafka-partitions', '6'];
    const procs: TurnstreamProcess[] = [];
    cleanups.push(() => Promise.all(procs.map((p) => p.stop())));
    const start = async () => {
      const p = await startTurnstreamProcess([
        ...args,
        '--checkpoint-every',
        '10',
        '--checkpoint-interval',
        '100ms',
        // The broker's floor (group.min.session.timeout.ms): the group drops the dead process after 6 s, not the default 10.
        '--kafka-session-timeout',
        '6s',
        '--data-dir',
        `/tmp/${prefix}-unused`,
      ]);
      procs.push(p);
      return p;
    };
    const assignedOf = async (p: TurnstreamProcess): Promise<number[]> => ((await p.health())['assigned'] as number[]) ?? [];
    const a = await start();
    const b = await start();
    await eventually('both own partitions', async () => (await assignedOf(a)).length === 3 && (await assignedOf(b)).length === 3, 60_000);
    const ofB = await assignedOf(b);
    for (let i = 0; i < CUT; i += 50)
      assert.equal((await postEvents(STREAM.slice(i, Math.min(i + 50, CUT)), { url: (i / 50) % 2 === 0 ? a.url : b.url })).rejected, 0);
    const reader = await KafkaStateView.open({ kafka, topics, logger: silentLogger });
    try {
      await processed(kafka, topics, (p) => reader.positions.get(p) ?? 0);
    } finally {
      await reader.close();
    }
    await b.stop('SIGKILL');
    const killedAt = performance.now();
    await eventually('the survivor owns every partition', async () => (await assignedOf(a)).length === 6, 60_000);
    const takeoverMs = performance.now() - killedAt;
    // With the default (10 s) the group could not have dropped the dead member this early.
    assert.ok(takeoverMs < 9_500, `partitions moved ${Math.round(takeoverMs)} ms after the kill; --kafka-session-timeout 6s should move them well before 10 s`);
    for (let i = CUT; i < STREAM.length; i += 50) assert.equal((await postEvents(STREAM.slice(i, i + 50), { url: a.url })).rejected, 0);
    await assertExact(kafka, topics);
    const logs = parseLog(a.stderr());
    for (const p of ofB) {
      const assigned = linesOf(logs, 'partition assigned').filter((l) => l['partition'] === p);
      const taken = assigned.at(-1)!;
      assert.ok((taken['resumeFrom'] as number) > 0, `partition ${p} taken over from a checkpoint: ${JSON.stringify(taken)}`);
      const read = linesOf(logs, 'partition reading').filter((l) => l['partition'] === p);
      assert.equal(read.at(-1)?.['fromOffset'], taken['resumeFrom'], `partition ${p} read from its checkpoint, not from 0`);
    }
  });
});
