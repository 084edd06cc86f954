import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { alertId, logAlertSink, webhookAlertSink } from '../../src/exporters/alert-sinks.ts';
import { createLogger } from '../../src/logger.ts';
import type { BudgetAlert } from '../../src/streams/budget-rule.ts';

const alert = (over: Partial<BudgetAlert> = {}): BudgetAlert => ({
  rule: 'session-spend',
  scope: 'session',
  key: 'demo-1',
  level: 'hard',
  status: 'firing',
  value: 0.0342,
  threshold: 0.03,
  at: 1_772_445_609_000,
  pos: 13,
  session: 'demo-1',
  ...over,
});

function recordingLogger(): { logger: ReturnType<typeof createLogger>; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { lines, logger: createLogger({ level: 'debug', write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) }) };
}

async function receiver(answer: (n: number) => number): Promise<{ url: string; bodies: Record<string, unknown>[]; close(): void }> {
  const bodies: Record<string, unknown>[] = [];
  let n = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const status = answer(++n);
      if (status < 300) bodies.push(JSON.parse(body) as Record<string, unknown>);
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, bodies, close: () => server.close() };
}

describe('logAlertSink', () => {
  it('logs a firing alert at warn and a resolved one at info, with the alert level as budgetLevel', () => {
    const { logger, lines } = recordingLogger();
    logAlertSink(logger).send([alert(), alert({ level: 'soft', status: 'resolved' })]);
    assert.deepEqual(
      lines.map((l) => [l['level'], l['budgetLevel'], l['status'], l['msg']]),
      [
        ['warn', 'hard', 'firing', 'budget hard firing: session-spend'],
        ['info', 'soft', 'resolved', 'budget soft resolved: session-spend'],
      ],
    );
    assert.equal(lines[0]!['id'], alertId(alert()));
    assert.equal(lines[0]!['rule'], 'session-spend');
  });
});

describe('webhookAlertSink', () => {
  it('retries failed deliveries with backoff and delivers each alert once, in order', async () => {
    const hook = await receiver((n) => (n <= 2 ? 503 : 204));
    const { logger, lines } = recordingLogger();
    const sink = webhookAlertSink({ url: hook.url, logger, initialBackoffMillis: 5, maxBackoffMillis: 20 });
    try {
      sink.send([alert({ pos: 4, level: 'soft' }), alert()]);
      await sink.forceFlush();
      assert.deepEqual(
        hook.bodies.map((b) => [b['pos'], b['level'], b['id']]),
        [
          [4, 'soft', alertId(alert({ pos: 4, level: 'soft' }))],
          [13, 'hard', alertId(alert())],
        ],
      );
      assert.deepEqual(
        lines.map((l) => [l['level'], l['msg'], l['attempt']]),
        [
          ['warn', 'alert webhook failed; retrying', 1],
          ['warn', 'alert webhook failed; retrying', 2],
        ],
      );
    } finally {
      await sink.shutdown();
      hook.close();
    }
  });

  it('gives up after maxAttempts with an error line naming the alert', async () => {
    const hook = await receiver(() => 500);
    const { logger, lines } = recordingLogger();
    const sink = webhookAlertSink({ url: hook.url, logger, maxAttempts: 3, initialBackoffMillis: 1, maxBackoffMillis: 2 });
    try {
      sink.send([alert()]);
      await sink.forceFlush();
      const last = lines.at(-1)!;
      assert.deepEqual([last['level'], last['msg'], last['budgetLevel'], last['attempts']], ['error', 'alert not delivered: gave up', 'hard', 3]);
      assert.equal(lines.filter((l) => l['level'] === 'warn').length, 2);
    } finally {
      await sink.shutdown();
      hook.close();
    }
  });
});

describe('createLogger', () => {
  it('a field named like a line key never overwrites it', () => {
    const { logger, lines } = recordingLogger();
    logger.warn('m', { level: 'hard', msg: 'x', other: 1 });
    assert.deepEqual(lines[0], { time: lines[0]!['time'], level: 'warn', ns: 'turnstream', msg: 'm', 'field.level': 'hard', 'field.msg': 'x', other: 1 });
  });
});
