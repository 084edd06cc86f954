import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { postEvents } from '../../src/client/post-events.ts';
import { createKafka } from '../../src/kafka/create-kafka.ts';
import { topicNames } from '../../src/kafka/topics.ts';
import { silentLogger } from '../../src/logger.ts';
import { kafkaBrokers } from '../helpers/kafka-broker.ts';
import { eventually, startTurnstreamProcess, type TurnstreamProcess } from '../helpers/turnstream-process.ts';
import { assertExact, manyStream } from './many-sessions-stream.ts';

const STREAM = manyStream();
/** Where a process is killed: mid-stream, each time the other one of the pair. */
const KILL_AT = [0.15, 0.35, 0.55, 0.75].map((f) => Math.floor(STREAM.length * f));

describe('kill -9 at many points with checkpoints on (real broker)', { timeout: 300_000 }, () => {
  const procs: TurnstreamProcess[] = [];
  after(async () => {
    await Promise.all(procs.map((p) => p.stop()));
  });

  it('two processes, one killed and restarted at each of 4 points while events flow: exact totals', async () => {
    const prefix = `killpoints-${randomUUID().slice(0, 8)}`;
    const brokers = kafkaBrokers();
    const args = ['--kafka', brokers.join(','), '--kafka-topic-prefix', prefix, '--kafka-group', prefix, '--kafka-partitions', '6'];
    // Checkpoints every few events, so kills land between checkpoints, between a checkpoint and its
    // commit's end, and on partitions resumed from a checkpoint by the process killed next.
    const start = async (): Promise<TurnstreamProcess> => {
      const p = await startTurnstreamProcess([...args, '--checkpoint-every', '7', '--checkpoint-interval', '50ms', '--data-dir', `/tmp/${prefix}-unused`]);
      procs.push(p);
      return p;
    };
    const pair = [await start(), await start()];
    await eventually('both own partitions', async () => {
      const owned = await Promise.all(pair.map(async (p) => ((await p.health())['assigned'] as number[]).length));
      return owned.every((n) => n > 0);
    });
    let sent = 0;
    let posts = 0;
    for (const [k, at] of [...KILL_AT, STREAM.length].entries()) {
      for (; sent < at; sent = Math.min(sent + 20, at)) {
        const to = pair[posts++ % 2]!;
        assert.equal((await postEvents(STREAM.slice(sent, Math.min(sent + 20, at)), { url: to.url })).rejected, 0);
      }
      if (k === KILL_AT.length) break;
      const victim = k % 2; // b, a, b, a
      await pair[victim]!.stop('SIGKILL');
      pair[victim] = await start();
    }
    await assertExact(createKafka({ brokers }, silentLogger), topicNames(prefix));
    const restored = procs
      .flatMap((p) => p.stderr().split('\n'))
      .filter((l) => l.includes('"msg":"partition assigned"'))
      .map((l) => JSON.parse(l) as { resumeFrom: number; committed: number })
      .filter((l) => l.resumeFrom > 0);
    assert.ok(restored.length > 0, 'some partitions were taken over from a checkpoint');
  });
});
