import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startPrometheus, type PrometheusProcess } from '../helpers/prometheus-process.ts';
import { post, startPipeline, type RunningPipeline } from '../helpers/running-pipeline.ts';

const example = (name: string): string => readFileSync(new URL(`../../examples/${name}.ndjson`, import.meta.url), 'utf8');
const num = (r: { value: [number, string] }[]): number => Number(r[0]?.value[1]);

// A real Prometheus scrapes a real turnstream fed with the shipped examples. Expected values are
// the hand-computed ones of examples.test.ts: total spend 0.03735 (sonnet) + 0.0021 (gpt-4o-mini)
// + 0.0032 (haiku) = 0.04265 USD; 6 turns; one tool error; 4 dead letters.
describe('Prometheus scraping turnstream (real prometheus binary)', () => {
  let ts: RunningPipeline;
  let prom: PrometheusProcess;

  before(async () => {
    ts = await startPipeline();
    for (const name of ['coding-session', 'concurrent-turns', 'messy-delivery']) await post(ts.url, example(name));
    await ts.settle();
    prom = await startPrometheus({ targets: [new URL(ts.url).host] });
  });
  after(async () => {
    await prom?.stop();
    await ts?.stop({ remove: true });
  });

  it('scrapes the cost counter with the hand-computed total, by model and agent', async () => {
    const total = await prom.waitFor('sum(turnstream_llm_cost_usd_total)');
    assert.ok(Math.abs(num(total) - 0.04265) < 1e-9, `total ${num(total)}`);
    const byModel = await prom.query('sum by (gen_ai_request_model) (turnstream_llm_cost_usd_total)');
    const models = Object.fromEntries(byModel.map((r) => [r.metric['gen_ai_request_model'], Number(r.value[1])]));
    assert.ok(Math.abs((models['claude-sonnet-4-5'] ?? NaN) - 0.03735) < 1e-9);
    assert.ok(Math.abs((models['gpt-4o-mini'] ?? NaN) - 0.0021) < 1e-9);
    const byAgent = await prom.query('sum by (gen_ai_agent_name) (turnstream_llm_cost_usd_total)');
    assert.deepEqual(byAgent.map((r) => r.metric['gen_ai_agent_name']).sort(), ['claude-code', 'support-bot']);
  });

  it('answers turn, tool and dead-letter queries', async () => {
    await prom.waitFor('turnstream_turns_total');
    assert.equal(num(await prom.query('sum(turnstream_turns_total)')), 6);
    assert.equal(num(await prom.query('sum(turnstream_tool_calls_total{turnstream_tool_outcome="error"})')), 1);
    assert.equal(num(await prom.query('sum(turnstream_events_dead_lettered_total)')), 4);
    assert.equal(num(await prom.query('sum(turnstream_consumer_lag)')), 0);
    const p95 = await prom.query('histogram_quantile(0.95, sum by (le) (turnstream_turn_duration_bucket))');
    assert.ok(Number.isFinite(num(p95)) && num(p95) > 0, `p95 turn duration ${num(p95)}`);
  });

  it('has no session id on any series (cardinality)', async () => {
    await prom.waitFor('turnstream_turns_total');
    const series = (await (await fetch(`${prom.url}/api/v1/series?match[]=${encodeURIComponent('{job="turnstream"}')}`)).json()) as {
      data: Record<string, string>[];
    };
    assert.ok(series.data.length > 10);
    for (const s of series.data) {
      for (const [label, value] of Object.entries(s)) {
        assert.ok(!/session/.test(label), `label ${label} on ${s['__name__']}`);
        assert.ok(!/^demo-\d$/.test(value), `session id ${value} in ${label} on ${s['__name__']}`);
      }
    }
  });
});
