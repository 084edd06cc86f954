import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { dashboardQueries, shippedRules, variableSelectors } from '../helpers/deploy-files.ts';
import { sendExampleTraffic } from '../helpers/example-traffic.ts';
import { parsePromText } from '../helpers/prom-text.ts';
import { metricNames } from '../helpers/promql-metric-names.ts';
import { startPipeline, type RunningPipeline } from '../helpers/running-pipeline.ts';

/** Series that Prometheus makes itself, not turnstream: allowed in queries, and why. */
const PROMETHEUS_SERIES: Record<string, string> = {
  ALERTS: 'Prometheus writes one ALERTS series per pending/firing alert (Budgets & health: alerts firing)',
  up: 'Prometheus records up=0/1 per scrape target (TurnstreamTargetDown)',
};

// Every metric name in every dashboard query, variable and rule is one a real turnstream's
// /metrics exposes after the shipped examples (or a recording rule, or a Prometheus series).
describe('metric names in deploy/ against a real turnstream /metrics', () => {
  let ts: RunningPipeline;
  let exposed: Set<string>;
  const recorded = new Set(
    shippedRules()
      .filter((r) => r.kind === 'record')
      .map((r) => r.name),
  );

  before(async () => {
    ts = await startPipeline();
    await sendExampleTraffic(ts.url);
    await ts.settle();
    const text = await (await fetch(`${ts.url}/metrics`)).text();
    exposed = new Set(parsePromText(text).map((s) => s.name));
  });
  after(async () => {
    await ts?.stop({ remove: true });
  });

  const check = (where: string, expr: string, allowRecorded: boolean): void => {
    const names = metricNames(expr);
    // only a constant (the budget line) may read no metric at all
    if (names.length === 0) assert.match(expr, /^vector\([^()]+\)$/, `${where}: no metric name found in ${expr}`);
    for (const n of names) {
      const known = exposed.has(n) || Object.hasOwn(PROMETHEUS_SERIES, n) || (allowRecorded && recorded.has(n));
      assert.ok(known, `${where}: "${n}" is not exposed by turnstream's /metrics (exposed: ${[...exposed].sort().join(', ')})`);
    }
  };

  it('exposes the histogram and counter forms the queries rely on', () => {
    for (const n of [
      'turnstream_llm_cost_usd_total',
      'turnstream_turn_duration_bucket',
      'turnstream_turn_duration_sum',
      'turnstream_turn_duration_count',
      'gen_ai_client_token_usage_bucket',
      'turnstream_llm_unpriced_total',
      'turnstream_consumer_lag',
    ]) {
      assert.ok(exposed.has(n), n);
    }
  });

  it('dashboard panel queries use only exposed names (recording rules not allowed: boards must work without the rules)', () => {
    const queries = dashboardQueries();
    assert.ok(queries.length >= 30, `only ${queries.length} queries`);
    for (const q of queries) check(`${q.dashboard} / ${q.panel} / ${q.refId}`, q.expr, false);
  });

  it('dashboard variables query exposed names', () => {
    for (const v of variableSelectors()) check(`${v.dashboard} $${v.variable}`, v.selector, false);
  });

  it('rules use exposed names or recording rules defined in deploy/prometheus/rules', () => {
    const rules = shippedRules();
    assert.equal(rules.length, 20);
    for (const r of rules) check(`${r.file} ${r.name}`, r.expr, true);
  });

  it('no query groups or filters by a session id (unbounded cardinality)', () => {
    for (const q of [...dashboardQueries(), ...shippedRules()]) assert.doesNotMatch(q.expr, /session/, q.expr);
  });

  it('the metric-name extraction sees through PromQL syntax', () => {
    assert.deepEqual(metricNames('sum by (le) (rate(a_bucket{x=~"$y", z="w"}[$__rate_interval])) * 3600 / on() b:rec'), ['a_bucket', 'b:rec']);
    assert.deepEqual(metricNames('histogram_quantile(0.95, sum(rate(c[5m] offset 15m))) > 1e-9 and on() d == 0'), ['c', 'd']);
    assert.deepEqual(metricNames('count(ALERTS{alertstate="firing"}) or vector($budget)'), ['ALERTS']);
  });
});
