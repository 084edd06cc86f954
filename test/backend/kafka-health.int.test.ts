import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { eventually, startTurnstreamProcess } from '../helpers/turnstream-process.ts';

const script = fileURLToPath(new URL('../../deploy/kafka/kafka.sh', import.meta.url));
const kafkaSh = (...args: string[]): string => {
  const r = spawnSync('bash', [script, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`kafka.sh ${args.join(' ')} failed: ${r.stderr.slice(-800)}`);
  return r.stdout;
};

const healthz = async (url: string): Promise<{ status: number; body: Record<string, unknown> }> => {
  const r = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5_000) });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
};

// A broker of its own (the shared one keeps serving the other tests), stopped and started again
// under a running turnstream, whose /healthz must follow: 503 with the fault named, then 200.
describe('/healthz in Kafka mode tells the truth (real broker)', { timeout: 240_000 }, () => {
  const data = mkdtempSync(join(tmpdir(), 'turnstream-health-broker-'));
  after(() => {
    spawnSync('bash', [script, 'stop', '--data', data]);
    rmSync(data, { recursive: true, force: true });
  });

  it('is ready, then 503 "kafka: broker unreachable (…)" while the broker is down, then ready again', async (t) => {
    const brokers = /KAFKA_BROKERS=(\S+)/.exec(kafkaSh('start', '--port', 'auto', '--data', data))![1]!;
    const port = brokers.split(':')[1]!;
    const ts = await startTurnstreamProcess(['--kafka', brokers, '--kafka-partitions', '2']);
    try {
      await eventually('ready once the group is joined', async () => (await healthz(ts.url)).status === 200, 60_000);
      const ready = await healthz(ts.url);
      assert.equal(ready.body['ok'], true);
      assert.equal(ready.body['mode'], 'kafka');
      assert.equal(ready.body['fault'], undefined);

      kafkaSh('stop', '--data', data);
      const stoppedAt = Date.now();
      let down: { status: number; body: Record<string, unknown> } | undefined;
      await eventually(
        '503 while the broker is down',
        async () => {
          down = await healthz(ts.url);
          return down.status === 503;
        },
        90_000,
      );
      t.diagnostic(`503 ${Date.now() - stoppedAt} ms after the broker stopped: ${String(down!.body['fault'])}`);
      assert.equal(down!.body['ok'], false);
      assert.match(String(down!.body['fault']), /^kafka: (broker unreachable \(|consumer )/);
      // Stays unready while the broker stays down (not a one-off blip that clears itself).
      await new Promise((r) => setTimeout(r, 3_000));
      const still = await healthz(ts.url);
      assert.equal(still.status, 503);
      assert.match(String(still.body['fault']), /^kafka: broker unreachable \(/);

      kafkaSh('start', '--port', port, '--data', data);
      const startedAt = Date.now();
      await eventually('ready again after the broker is back', async () => (await healthz(ts.url)).status === 200, 120_000).catch((error: unknown) => {
        throw new Error(`${(error as Error).message}\n--- turnstream log (tail) ---\n${ts.stderr().split('\n').slice(-25).join('\n')}`);
      });
      t.diagnostic(`200 again ${Date.now() - startedAt} ms after the broker was back`);
      assert.match(ts.stderr(), /reconnected to Kafka; catching up/);
    } finally {
      await ts.stop();
    }
  });
});
