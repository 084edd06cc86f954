import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startPrometheus, type PrometheusProcess } from '../helpers/prometheus-process.ts';
import { post } from '../helpers/running-pipeline.ts';
import { startTurnstreamProcess, type TurnstreamProcess } from '../helpers/turnstream-process.ts';

type Vector = { metric: Record<string, string>; value: [number, string] }[];
const byLabel = (r: Vector, label: string): Record<string, number> => Object.fromEntries(r.map((s) => [s.metric[label] ?? '', Number(s.value[1])]));
const close = (actual: number | undefined, expected: number, what: string): void =>
  assert.ok(actual !== undefined && Math.abs(actual - expected) < 1e-9, `${what}: ${actual} ≠ ${expected}`);

// turnstream pushes its metrics over OTLP/HTTP (protobuf) to a real Prometheus 3 with the OTLP
// receiver on; nothing scrapes /metrics. The values are the hand-computed ones of
// examples/coding-session.ndjson (README quick start, test/e2e/examples.test.ts): claude-sonnet-4-5
// 0.0342 USD + gpt-4o-mini 0.0021 USD; tokens input 6,700, output 1,670, cache read 28,500,
// cache write 2,000; 2 completed turns. Prometheus 3's default translation
// (otlp.translation_strategy UnderscoreEscapingWithSuffixes) turns dots into underscores, adds the
// unit (braced units such as {token} are dropped) and `_total` for counters, and makes the
// resource's service.name the `job` label.
describe('OTLP metrics into a real Prometheus 3 (--web.enable-otlp-receiver)', () => {
  let prom: PrometheusProcess;
  let ts: TurnstreamProcess;
  const dir = mkdtempSync(join(tmpdir(), 'turnstream-otlp-prom-'));

  before(async () => {
    prom = await startPrometheus({ targets: [], flags: ['--web.enable-otlp-receiver'] });
    ts = await startTurnstreamProcess(['--data-dir', join(dir, 'data')], {
      OTEL_METRICS_EXPORTER: 'otlp',
      OTEL_TRACES_EXPORTER: 'none',
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${prom.url}/api/v1/otlp/v1/metrics`,
    });
    const res = await post(ts.url, readFileSync(new URL('../../examples/coding-session.ndjson', import.meta.url), 'utf8'));
    assert.equal(res.status, 200, JSON.stringify(res.json));
  });
  after(async () => {
    await ts?.stop();
    await prom?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  // The SDK exports every 15 s: the first export after the events were processed can take that long.
  const settled = async (expr: string, expected: number): Promise<Vector> => {
    const end = Date.now() + 60_000;
    for (;;) {
      const r = await prom.query(expr);
      if (r.length > 0 && Math.abs(Number(r[0]!.value[1]) - expected) < 1e-9) return r;
      if (Date.now() > end) throw new Error(`${expr} is ${JSON.stringify(r)}, not ${expected}, after 60 s (turnstream log: ${ts.stderr().slice(-1000)})`);
      await new Promise((res) => setTimeout(res, 500));
    }
  };

  it('the cost counter arrives with the hand-computed total, by model, as job="turnstream"', async () => {
    await settled('sum(turnstream_llm_cost_usd_USD_total)', 0.0363);
    const byModel = byLabel(await prom.query('sum by (gen_ai_request_model) (turnstream_llm_cost_usd_USD_total)'), 'gen_ai_request_model');
    assert.deepEqual(Object.keys(byModel).sort(), ['claude-sonnet-4-5', 'gpt-4o-mini']);
    close(byModel['claude-sonnet-4-5'], 0.0342, 'claude-sonnet-4-5');
    close(byModel['gpt-4o-mini'], 0.0021, 'gpt-4o-mini');
    const series = await prom.query('turnstream_llm_cost_usd_USD_total');
    for (const s of series) {
      assert.equal(s.metric['job'], 'turnstream', JSON.stringify(s.metric));
      assert.equal(s.metric['gen_ai_agent_name'], 'claude-code', JSON.stringify(s.metric));
    }
  });

  it('the token counter arrives by type, and the turn counter', async () => {
    await settled('sum(turnstream_tokens_total)', 6700 + 1670 + 28500 + 2000);
    const byType = byLabel(await prom.query('sum by (turnstream_token_type) (turnstream_tokens_total)'), 'turnstream_token_type');
    assert.deepEqual(byType, { input: 6700, output: 1670, cache_read: 28500, cache_write: 2000 });
    await settled('sum(turnstream_turns_total)', 2);
  });

  it('names no series after the Prometheus exposition of /metrics: the OTLP names are their own', async () => {
    await settled('sum(turnstream_tokens_total)', 6700 + 1670 + 28500 + 2000);
    const names = (await (await fetch(`${prom.url}/api/v1/label/__name__/values`)).json()) as { data: string[] };
    const ours = names.data.filter((n) => n.startsWith('turnstream_')).sort();
    assert.ok(ours.includes('turnstream_llm_cost_usd_USD_total'), ours.join(' '));
    assert.ok(!ours.includes('turnstream_llm_cost_usd_total'), 'the scrape name does not appear over OTLP');
  });
});
