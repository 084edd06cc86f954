import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { postEvents } from '../../src/client/post-events.ts';
import { createKafka } from '../../src/kafka/create-kafka.ts';
import { topicNames } from '../../src/kafka/topics.ts';
import { silentLogger } from '../../src/logger.ts';
import { KafkaStateView } from '../../src/state/kafka-state-view.ts';
import { expectedTotals, generateStream, SESSIONS } from '../fixtures/agent-stream.ts';
import { eventually, startTurnstreamProcess } from '../helpers/turnstream-process.ts';

const script = fileURLToPath(new URL('../../deploy/kafka/kafka.sh', import.meta.url));
const kafkaSh = (...args: string[]): string => {
  const r = spawnSync('bash', [script, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`kafka.sh ${args.join(' ')} failed: ${r.stderr.slice(-800)}`);
  return r.stdout;
};

// A broker of its own (the shared one keeps serving the other tests), stopped and started again
// under a running turnstream.
describe('broker restart while turnstream runs (real broker)', { timeout: 240_000 }, () => {
  const data = mkdtempSync(join(tmpdir(), 'turnstream-restart-broker-'));
  after(() => {
    spawnSync('bash', [script, 'stop', '--data', data]);
    rmSync(data, { recursive: true, force: true });
  });

  it('reconnects with a clear log line, catches up, and the totals are exact', async () => {
    const brokers = /KAFKA_BROKERS=(\S+)/.exec(kafkaSh('start', '--port', 'auto', '--data', data))![1]!;
    const port = brokers.split(':')[1]!;
    const ts = await startTurnstreamProcess(['--kafka', brokers, '--kafka-partitions', '3']);
    try {
      const stream = generateStream();
      const half = Math.floor(stream.length / 2);
      for (let i = 0; i < half; i += 25) assert.equal((await postEvents(stream.slice(i, Math.min(i + 25, half)), { url: ts.url })).rejected, 0);

      kafkaSh('stop', '--data', data);
      // While the broker is down, ingest refuses to acknowledge (nothing is lost: the client retries).
      await assert.rejects(postEvents(stream.slice(half, half + 1), { url: ts.url, attempts: 1, timeoutMillis: 60_000 }), /503|log could not be written/);
      kafkaSh('start', '--port', port, '--data', data);

      for (let i = half; i < stream.length; i += 25) assert.equal((await postEvents(stream.slice(i, i + 25), { url: ts.url, attempts: 10 })).rejected, 0);
      const view = await KafkaStateView.open({
        kafka: createKafka({ brokers: [brokers] }, silentLogger),
        topics: topicNames('turnstream'),
        logger: silentLogger,
      });
      try {
        await eventually(
          'exact totals after the restart',
          async () => {
            for (let s = 0; s < SESSIONS; s++) {
              const t = await view.sessionTotals(`sess-${s}`);
              const e = expectedTotals(s);
              if (t === undefined || t.turns !== e.turns || t.llmCalls !== e.llmCalls || t.inputTokens !== e.inputTokens || Math.abs(t.cost - e.cost) > 1e-9)
                return false;
            }
            return true;
          },
          120_000,
        ).catch((error: unknown) => {
          throw new Error(
            `${(error as Error).message}\n--- turnstream log (tail) ---\n${ts
              .stderr()
              .split('\n')
              .filter((l) => !l.includes('ECONNREFUSED'))
              .slice(-25)
              .join('\n')}`,
          );
        });
      } finally {
        await view.close();
      }
      assert.match(ts.stderr(), /lost connection to Kafka/);
      assert.match(ts.stderr(), /reconnected to Kafka; catching up/);
    } finally {
      await ts.stop();
    }
  });
});
