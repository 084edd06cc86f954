import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { postEvents } from '../../src/client/post-events.ts';
import { parsePromText, sumOf } from '../helpers/prom-text.ts';
import { eventually, startTurnstreamProcess } from '../helpers/turnstream-process.ts';

const example = readFileSync(new URL('../../examples/coding-session.ndjson', import.meta.url), 'utf8')
  .trim()
  .split('\n');

// demo-1's LLM calls (hand-computed in examples.test.ts): 0.018 at 10:00:02 (pos 4), 0.00645 at
// 10:00:07 (pos 10), 0.00975 at 10:00:09 (pos 13), 0.0021 at 10:01:03 (pos 16).
// Session rule, soft 0.01 / hard 0.03: soft fires at pos 4 (0.018), hard at pos 13 (0.0342).
// Agent rule, 1-minute window, hard 0.02: fires at pos 10 (0.02445); at 10:01:03 the window
// (10:00:03, 10:01:03] holds 0.00645 + 0.00975 + 0.0021 = 0.0183 < 0.02, so it resolves at pos 16.
describe('live budget rules, end to end through the CLI and a flaky webhook', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'turnstream-budgets-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('fires once per crossing, resolves, and retries the webhook until every alert is delivered', async () => {
    let attempts = 0;
    const delivered: Record<string, unknown>[] = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        attempts++;
        if (attempts <= 2) {
          res.writeHead(503).end('not yet'); // the first two attempts fail
          return;
        }
        delivered.push(JSON.parse(body) as Record<string, unknown>);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((ok) => receiver.listen(0, '127.0.0.1', () => ok()));
    const budgets = join(dir, 'budgets.json');
    writeFileSync(
      budgets,
      JSON.stringify({
        rules: [
          { name: 'session-spend', scope: 'session', soft: 0.01, hard: 0.03 },
          { name: 'agent-minute', scope: 'agent', window: '1m', hard: 0.02 },
        ],
      }),
    );
    const ts = await startTurnstreamProcess([
      '--data-dir',
      join(dir, 'data'),
      '--budgets',
      budgets,
      '--alert-webhook',
      `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`,
    ]);
    try {
      for (const line of example) await postEvents([line], { url: ts.url }); // one event at a time, as an agent sends them
      await eventually('four alerts delivered', () => delivered.length >= 4, 30_000);
      await new Promise((r) => setTimeout(r, 500)); // nothing more arrives
      assert.deepEqual(
        delivered.map((a) => [a['rule'], a['key'], a['level'], a['status'], a['pos']]),
        [
          ['session-spend', 'demo-1', 'soft', 'firing', 4],
          ['agent-minute', 'claude-code', 'hard', 'firing', 10],
          ['session-spend', 'demo-1', 'hard', 'firing', 13],
          ['agent-minute', 'claude-code', 'hard', 'resolved', 16],
        ],
      );
      assert.equal(attempts, 6, 'two failed attempts, then one delivery per alert');
      assert.equal(new Set(delivered.map((a) => a['id'])).size, 4);
      const metrics = parsePromText(await (await fetch(`${ts.url}/metrics`)).text());
      assert.equal(sumOf(metrics, 'turnstream_budget_alerts_total', { turnstream_budget_status: 'firing' }), 3);
      assert.equal(sumOf(metrics, 'turnstream_budget_alerts_total', { turnstream_budget_status: 'resolved' }), 1);
      assert.equal(sumOf(metrics, 'turnstream_budget_firing', { turnstream_budget_rule: 'session-spend' }), 2);
      assert.equal(sumOf(metrics, 'turnstream_budget_firing', { turnstream_budget_rule: 'agent-minute' }), 0);
      assert.match(ts.stderr(), /budget hard firing: session-spend/);
      assert.match(
        ts.stderr(),
        /"level":"warn","ns":"turnstream","msg":"budget hard firing: session-spend".*"budgetLevel":"hard"/,
        'logged at warn; the alert level is budgetLevel',
      );
    } finally {
      await ts.stop();
      receiver.close();
    }
  });
});
