import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { postEvents } from '../../src/client/post-events.ts';
import { createKafka } from '../../src/kafka/create-kafka.ts';
import { topicNames } from '../../src/kafka/topics.ts';
import { silentLogger } from '../../src/logger.ts';
import { KafkaStateView } from '../../src/state/kafka-state-view.ts';
import { expectedTotals, generateStream, SESSIONS, TURNS } from '../fixtures/agent-stream.ts';
import { kafkaBrokers } from '../helpers/kafka-broker.ts';
import { eventually, startTurnstreamProcess, type TurnstreamProcess } from '../helpers/turnstream-process.ts';

const STREAM = generateStream();
const chunks = (lines: readonly string[], size: number): string[][] =>
  Array.from({ length: Math.ceil(lines.length / size) }, (_, i) => lines.slice(i * size, (i + 1) * size));

/** A deployment: unique topics and group, processes started on demand, a view to check results. */
function deployment() {
  const prefix = `scale-${randomUUID().slice(0, 8)}`;
  const brokers = kafkaBrokers().join(',');
  const procs: TurnstreamProcess[] = [];
  const args = ['--kafka', brokers, '--kafka-topic-prefix', prefix, '--kafka-group', prefix, '--kafka-partitions', '6', '--data-dir', `/tmp/${prefix}-unused`];
  let view: KafkaStateView | undefined;
  return {
    procs,
    start: async () => {
      const p = await startTurnstreamProcess(args);
      procs.push(p);
      return p;
    },
    send: async (to: TurnstreamProcess, lines: string[]) => {
      const r = await postEvents(lines, { url: to.url });
      assert.equal(r.rejected, 0);
    },
    /** Waits until every session's totals and state equal the closed-form expectation. */
    expectExact: async () => {
      view ??= await KafkaStateView.open({
        kafka: createKafka({ brokers: brokers.split(',') }, silentLogger),
        topics: topicNames(prefix),
        logger: silentLogger,
      });
      const v = view;
      const matches = async (): Promise<boolean> => {
        for (let s = 0; s < SESSIONS; s++) {
          const t = await v.sessionTotals(`sess-${s}`);
          const { cost, ...counts } = expectedTotals(s);
          if (t === undefined || t.turns !== counts.turns || t.llmCalls !== counts.llmCalls || Math.abs(t.cost - cost) > 1e-9) return false;
        }
        return true;
      };
      await eventually('exact totals for every session', matches, 90_000);
      for (let s = 0; s < SESSIONS; s++) {
        const { cost, firstMs: _f, lastMs: _l, ...counts } = (await v.sessionTotals(`sess-${s}`))!;
        const { cost: expectedCost, ...expectedCounts } = expectedTotals(s);
        assert.deepEqual(counts, expectedCounts, `sess-${s} counts`);
        assert.ok(Math.abs(cost - expectedCost) < 1e-9, `sess-${s} cost`);
        assert.deepEqual(await v.list(`sess-${s}`), { progress: TURNS - 1, note: 0, tie: 'b' }, `sess-${s} state`);
        assert.equal((await v.get(`sess-${s}`, 'scratch'))?.deleted, true);
        assert.deepEqual(
          (await v.sessionTurns(`sess-${s}`)).map((t) => [t.turn, t.revision, t.llmCalls]),
          Array.from({ length: TURNS }, (_, t) => [`turn-${t}`, 0, 3]),
        );
      }
    },
    close: async () => {
      await Promise.all(procs.map((p) => p.stop()));
      await view?.close();
    },
  };
}

const assignedOf = async (p: TurnstreamProcess): Promise<number[]> => ((await p.health())['assigned'] as number[]) ?? [];

describe('Kafka scale-out: several turnstream processes in one consumer group (real broker)', { timeout: 240_000 }, () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups) await c();
  });

  it('two processes split the partitions and give exactly the single-process totals, through a rebalance', async () => {
    const d = deployment();
    cleanups.push(d.close);
    const a = await d.start();
    const parts = chunks(STREAM, 25);
    for (const c of parts.slice(0, 8)) await d.send(a, c);
    const b = await d.start(); // joins mid-stream: a rebalance
    await eventually('both processes own partitions', async () => {
      const [pa, pb] = [await assignedOf(a), await assignedOf(b)];
      return pa.length > 0 && pb.length > 0 && pa.length + pb.length === 6 && !pa.some((p) => pb.includes(p));
    });
    for (const [i, c] of parts.slice(8).entries()) await d.send(i % 2 === 0 ? a : b, c);
    await d.send(b, parts[3]!); // an at-least-once source re-sends a batch: duplicates change nothing
    await d.expectExact();
  });

  it('kill -9 of one process mid-stream loses nothing and counts nothing twice', async () => {
    const d = deployment();
    cleanups.push(d.close);
    const a = await d.start();
    const b = await d.start();
    await eventually('both own partitions', async () => (await assignedOf(a)).length > 0 && (await assignedOf(b)).length > 0);
    const parts = chunks(STREAM, 25);
    for (const [i, c] of parts.slice(0, 10).entries()) await d.send(i % 2 === 0 ? a : b, c);
    await b.stop('SIGKILL');
    for (const c of parts.slice(10, 15)) await d.send(a, c);
    const b2 = await d.start(); // the killed process comes back
    for (const [i, c] of parts.slice(15).entries()) await d.send(i % 2 === 0 ? a : b2, c);
    await d.expectExact();
  });
});
