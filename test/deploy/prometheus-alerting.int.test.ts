import assert from 'node:assert/strict';
import { basename } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startAlertmanager, type AlertmanagerProcess } from '../helpers/alertmanager-process.ts';
import {
  RULE_FILES,
  dashboardQueries,
  readDeploy,
  rulesForTest,
  shippedBudget,
  shippedRules,
  substituteVariables,
  variableSelectors,
} from '../helpers/deploy-files.ts';
import { EXAMPLES_COST_USD, sendExampleTraffic } from '../helpers/example-traffic.ts';
import { startPrometheusWithRules, type RuleEvaluatingPrometheus } from '../helpers/prometheus-with-rules.ts';
import { startPipeline, type RunningPipeline } from '../helpers/running-pipeline.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.ts';

/** Small enough that one pass over the examples (0.04265 USD) blows it many times over. */
const TEST_BUDGET_USD = 0.001;
/**
 * Grafana's variables as a viewer would have them: All selected, a 1 h range, the default budget.
 * $__rate_interval is 5m (Grafana's value for a 15 s scrape is 1m): the traffic grows once, so a
 * wider window keeps the rates non-zero however slow the machine is between sending and querying.
 */
const VARIABLES = { __rate_interval: '5m', __interval: '1m', __range: '1h', provider: '.*', model: '.*', agent: '.*', budget: String(shippedBudget()) };

/**
 * Expressions that cannot return data in a test that lasts seconds, with the reason, and the part
 * of the expression that must return data instead (it has to appear verbatim in the expression).
 * The test fails if a listed expression does return data: then it belongs off this list.
 */
const NO_DATA: Record<string, { reason: string; underlying: string }> = {
  'rule TurnstreamAgentCostSpike': {
    reason: 'its baseline is the day before, ending 15 minutes ago: this Prometheus is seconds old',
    underlying: 'sum by (gen_ai_agent_name) (rate(turnstream_llm_cost_usd_total[15m])) * 3600',
  },
  'rule TurnstreamModelCostSpike': {
    reason: 'its baseline is the day before, ending 15 minutes ago: this Prometheus is seconds old',
    underlying: 'sum by (gen_ai_provider_name, gen_ai_request_model) (rate(turnstream_llm_cost_usd_total[15m])) * 3600',
  },
  'rule TurnstreamIngestStalled': {
    reason: 'events were ingested seconds ago: nothing is stalled',
    underlying: 'sum(increase(turnstream_events_ingested_total[10m]))',
  },
  'rule TurnstreamConsumerLagHigh': {
    reason: 'the lag is 0 once the pipeline settled, not above 10000',
    underlying: 'max by (instance) (turnstream_consumer_lag)',
  },
  'rule TurnstreamTargetDown': { reason: 'turnstream is up', underlying: 'up{job="turnstream"}' },
  'panel turnstream-budgets-health / Agent spend vs its day-before average / A': {
    reason: 'divides by the day before, ending 15 minutes ago: this Prometheus is seconds old',
    underlying: 'sum by (gen_ai_agent_name) (rate(turnstream_llm_cost_usd_total[15m]))',
  },
};

// turnstream fed with the shipped examples, a real Prometheus scraping it and evaluating the
// shipped rules (test budget, `for: 0s`), a real Alertmanager with the shipped routing (webhook
// URLs and group_wait swapped), and a webhook receiver in this process.
describe('dashboards and alert rules against a real Prometheus + Alertmanager', () => {
  let ts: RunningPipeline;
  let prom: RuleEvaluatingPrometheus;
  let am: AlertmanagerProcess;
  let hooks: WebhookReceiver;
  const timings: string[] = [];

  /** An instant query's samples and how many are numbers (NaN is no data). */
  const evaluate = async (expr: string): Promise<{ samples: number; finite: number }> => {
    const r = await prom.query(expr);
    return { samples: r.length, finite: r.filter((s) => Number.isFinite(Number(s.value[1]))).length };
  };

  before(async () => {
    let t = Date.now();
    const lap = (what: string): void => {
      timings.push(`${what} ${Date.now() - t} ms`);
      t = Date.now();
    };
    ts = await startPipeline();
    await sendExampleTraffic(ts.url);
    await ts.settle();
    lap('turnstream + examples');
    hooks = await startWebhookReceiver();
    const amConfig = readDeploy('alertmanager/alertmanager.yml')
      .replace(/url: '[^']*\/turnstream\/cost'/, `url: '${hooks.url}/cost'`)
      .replace(/url: '[^']*\/turnstream\/pipeline'/, `url: '${hooks.url}/pipeline'`)
      .replace(/group_wait: \S+/g, 'group_wait: 1s');
    assert.ok(amConfig.includes(`${hooks.url}/cost`) && amConfig.includes(`${hooks.url}/pipeline`), 'webhook URLs not found in alertmanager.yml');
    am = await startAlertmanager({ config: amConfig });
    lap('alertmanager up');
    const rules = Object.fromEntries(RULE_FILES.map((f) => [basename(f), rulesForTest(f, { budgetUsd: TEST_BUDGET_USD })]));
    prom = await startPrometheusWithRules({ targets: [new URL(ts.url).host], rules, alertmanagers: [am.address] });
    lap('prometheus up');
    // The first scrape is only a baseline for rate()/increase(); the same traffic again (new ids)
    // makes every series grow.
    await prom.waitFor('turnstream_llm_cost_usd_total');
    await sendExampleTraffic(ts.url, { pass: 1 });
    await ts.settle();
    await prom.waitFor(`sum(turnstream_llm_cost_usd_total) > ${2 * EXAMPLES_COST_USD - 1e-9}`);
    lap('second pass scraped');
    await prom.waitFor('ALERTS{alertname="TurnstreamDailyCostCapExceeded", alertstate="firing"}');
    lap('cost alert firing');
  });
  after(async () => {
    await prom?.stop();
    await am?.stop();
    await hooks?.close();
    await ts?.stop({ remove: true });
  });

  it("a cost alert fires and its webhook arrives through Alertmanager on the cost route, with the rule's labels", async (t) => {
    const started = Date.now();
    const { path, body } = await hooks.waitFor((p, b) => p === '/cost' && b.alerts.some((a) => a.labels['alertname'] === 'TurnstreamDailyCostCapExceeded'));
    timings.push(`webhook ${Date.now() - started} ms after the alert fired`);
    t.diagnostic(timings.join('; '));
    assert.equal(path, '/cost');
    assert.equal(body.version, '4');
    assert.equal(body.receiver, 'cost-webhook');
    assert.equal(body.status, 'firing');
    assert.deepEqual(body.groupLabels, { alertname: 'TurnstreamDailyCostCapExceeded' });
    const alert = body.alerts.find((a) => a.labels['alertname'] === 'TurnstreamDailyCostCapExceeded')!;
    assert.deepEqual(alert.labels, { alertname: 'TurnstreamDailyCostCapExceeded', severity: 'page', category: 'cost' });
    assert.equal(alert.annotations['summary'], 'The daily LLM budget is spent');
    // increase() extrapolates a young series towards the window's edges, so the amount is not
    // exactly the second pass's spend; it is above the budget, which is what the alert says.
    const spent = /^USD (\d+\.\d\d) spent over the last 24 hours, more than the daily budget\.$/.exec(alert.annotations['description'] ?? '');
    assert.ok(spent && Number(spent[1]) > TEST_BUDGET_USD, alert.annotations['description']);
  });

  it('the burn-rate alert fires too, and pipeline alerts take the pipeline route, never the cost one', async () => {
    await hooks.waitFor(
      (p, b) => p === '/cost' && b.alerts.some((a) => a.labels['alertname'] === 'TurnstreamCostBudgetBurnFast' && a.labels['severity'] === 'page'),
    );
    const { body } = await hooks.waitFor((p, b) => p === '/pipeline' && b.alerts.some((a) => a.labels['alertname'] === 'TurnstreamDeadLettersRising'));
    assert.equal(body.receiver, 'pipeline-webhook');
    const reasons = body.alerts
      .filter((a) => a.labels['alertname'] === 'TurnstreamDeadLettersRising')
      .map((a) => a.labels['turnstream_reason'])
      .sort();
    assert.deepEqual(reasons, ['invalid_json', 'schema', 'unknown_version'], 'duplicates never alert');
    for (const r of hooks.received) {
      for (const a of r.body.alerts)
        assert.equal(r.path, a.labels['category'] === 'cost' ? '/cost' : '/pipeline', `${a.labels['alertname']} went to ${r.path}`);
    }
  });

  it('Prometheus loaded exactly the shipped rules', async () => {
    const data = await prom.api<{ groups: { name: string; rules: { name: string; type: string }[] }[] }>('rules');
    const loaded = data.groups.flatMap((g) => g.rules.map((r) => r.name)).sort();
    assert.deepEqual(
      loaded,
      shippedRules()
        .map((r) => r.name)
        .sort(),
    );
  });

  it('every dashboard panel query returns data (variables substituted), or is listed with the reason', async () => {
    const failures: string[] = [];
    for (const q of dashboardQueries()) {
      const key = `panel ${q.dashboard} / ${q.panel} / ${q.refId}`;
      failures.push(...(await checkExpr(key, substituteVariables(q.expr, VARIABLES))));
    }
    assert.deepEqual(failures, []);
  });

  it('every recording and alerting rule expression returns data, or is listed with the reason', async () => {
    const failures: string[] = [];
    for (const r of shippedRules()) failures.push(...(await checkExpr(`rule ${r.name}`, r.expr)));
    assert.deepEqual(failures, []);
  });

  it('every dashboard variable lists values', async () => {
    for (const v of variableSelectors()) {
      const selector = substituteVariables(v.selector, VARIABLES);
      const values = await prom.api<string[]>(`label/${v.label}/values?match[]=${encodeURIComponent(selector)}`);
      assert.ok(values.length > 0, `${v.dashboard} $${v.variable}: no values for ${selector}`);
    }
  });

  it('NO_DATA names only queries that exist', () => {
    const keys = new Set([...dashboardQueries().map((q) => `panel ${q.dashboard} / ${q.panel} / ${q.refId}`), ...shippedRules().map((r) => `rule ${r.name}`)]);
    for (const k of Object.keys(NO_DATA)) assert.ok(keys.has(k), `stale NO_DATA entry: ${k}`);
  });

  /** Failures for one expression: no data when data is expected, or data when listed as impossible. */
  async function checkExpr(key: string, expr: string): Promise<string[]> {
    const listed = NO_DATA[key];
    const got = await evaluate(expr);
    if (listed === undefined) return got.finite > 0 ? [] : [`${key}: no data (${got.samples} samples, none a number) for ${expr}`];
    const out: string[] = [];
    if (got.samples > 0) out.push(`${key}: listed as returning no data (${listed.reason}) but returned ${got.samples} samples: take it off NO_DATA`);
    if (!expr.includes(substituteVariables(listed.underlying, VARIABLES))) out.push(`${key}: "${listed.underlying}" is not part of ${expr}`);
    else if ((await evaluate(substituteVariables(listed.underlying, VARIABLES))).finite === 0)
      out.push(`${key}: its underlying "${listed.underlying}" returns no data either`);
    return out;
  }
});
