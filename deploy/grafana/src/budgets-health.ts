import { dashboard, datasourceVariable, textboxVariable, type RowSpec } from './dashboard-kit.ts';

// The windows and thresholds mirror deploy/prometheus/rules/turnstream-cost.yml, so what the
// board shows is what the alerts evaluate; $budget must match turnstream:budget_usd_per_day there
// (a test checks the defaults agree).
const COST = 'turnstream_llm_cost_usd_total';
const burn = (window: string, by = ''): string => `${by === '' ? 'sum' : `sum by (${by}) `}(rate(${COST}[${window}])) * 86400 / $budget`;
const OURS = 'alertname=~"Turnstream.*"';
const rate = (sel: string): string => `rate(${sel}[$__rate_interval])`;

const rows: RowSpec[] = [
  {
    row: 'Budget',
    panels: [
      { kind: 'gauge', w: 6, h: 6, title: 'Last 24 h spend, share of the daily budget', unit: 'percentunit', min: 0, max: 1.2, decimals: 0, thresholds: [{ value: 0.8, color: 'orange' }, { value: 1, color: 'red' }], description: 'Rolling 24 h spend / $budget. Orange at 80% (TurnstreamDailyCostCapWarning), red at 100% (TurnstreamDailyCostCapExceeded).', queries: [{ expr: `sum(increase(${COST}[24h])) / $budget`, legend: 'share of budget' }] },
      { kind: 'stat', w: 6, h: 6, title: 'Last 24 h spend', unit: 'currencyUSD', decimals: 2, description: 'LLM spend over the last 24 hours (rolling, not since midnight).', queries: [{ expr: `sum(increase(${COST}[24h]))`, legend: 'spent' }] },
      { kind: 'stat', w: 6, h: 6, title: 'Projected 24 h spend at the last hour\'s pace', unit: 'currencyUSD', decimals: 2, description: 'What a day would cost if the last hour\'s spend rate held.', queries: [{ expr: `sum(rate(${COST}[1h])) * 86400`, legend: 'projected' }] },
      { kind: 'stat', w: 6, h: 6, title: 'Burn rate (1 h)', unit: 'suffix: ×', decimals: 1, thresholds: [{ value: 3, color: 'orange' }, { value: 10, color: 'red' }], description: '1 = spending exactly $budget per 24 h. Alerts: > 3 over 6 h (ticket), > 10 over 1 h (page).', queries: [{ expr: burn('1h'), legend: 'burn rate' }] },
      { kind: 'timeseries', w: 12, title: 'Spend against budget', unit: 'currencyUSD', description: 'Rolling 24 h spend and the 24 h projection at the last hour\'s pace, against the daily budget ($budget).', queries: [
        { expr: `sum(increase(${COST}[24h]))`, legend: 'spent, last 24 h' },
        { expr: `sum(rate(${COST}[1h])) * 86400`, legend: 'projected 24 h at the last hour\'s pace' },
        { expr: 'vector($budget)', legend: 'daily budget' },
      ] },
      { kind: 'timeseries', w: 12, title: 'Burn rate, alert windows', unit: 'suffix: ×', min: 0, thresholds: [{ value: 3, color: 'orange' }, { value: 10, color: 'red' }], description: 'Spend rate / (budget per 24 h) over the windows the burn-rate alerts use: fast = 1 h and 5 m above 10, slow = 6 h and 30 m above 3.', queries: [
        { expr: burn('5m'), legend: '5m' },
        { expr: burn('30m'), legend: '30m' },
        { expr: burn('1h'), legend: '1h' },
        { expr: burn('6h'), legend: '6h' },
      ] },
      { kind: 'timeseries', w: 12, title: 'Burn rate by agent (1 h)', unit: 'suffix: ×', min: 0, description: 'Each agent\'s share of the pace: the sum over agents is the 1 h burn rate.', queries: [{ expr: burn('1h', 'gen_ai_agent_name'), legend: '{{gen_ai_agent_name}}' }] },
      { kind: 'timeseries', w: 12, title: 'Agent spend vs its day-before average', unit: 'suffix: ×', min: 0, thresholds: [{ value: 5, color: 'red' }], description: 'Last 15 m spend rate / the agent\'s average rate over the day before (TurnstreamAgentCostSpike fires above 5). Empty for agents younger than 15 minutes.', queries: [{ expr: `sum by (gen_ai_agent_name) (rate(${COST}[15m])) / sum by (gen_ai_agent_name) (rate(${COST}[1d] offset 15m))`, legend: '{{gen_ai_agent_name}}' }] },
    ],
  },
  {
    row: 'Alerts',
    panels: [
      { kind: 'stat', w: 6, h: 6, title: 'turnstream alerts firing', unit: 'suffix: alerts', decimals: 0, thresholds: [{ value: 1, color: 'red' }], description: 'Firing alerts from turnstream\'s rules (Prometheus ALERTS series).', queries: [{ expr: `count(ALERTS{${OURS}, alertstate="firing"}) or vector(0)`, legend: 'firing' }] },
      { kind: 'table', w: 18, h: 6, title: 'Alerts firing now', unit: 'suffix: alerts', description: 'One line per firing alert and label set.', queries: [{ expr: `sum by (alertname, severity, category, gen_ai_agent_name, gen_ai_provider_name, gen_ai_request_model, turnstream_reason, instance) (ALERTS{${OURS}, alertstate="firing"})`, legend: '{{alertname}}' }] },
      { kind: 'timeseries', w: 24, h: 6, title: 'Alerts over time', unit: 'suffix: alerts', min: 0, description: 'Pending and firing turnstream alerts by name.', queries: [{ expr: `sum by (alertname, alertstate) (ALERTS{${OURS}})`, legend: '{{alertname}} ({{alertstate}})' }] },
    ],
  },
  {
    row: 'Pipeline health',
    panels: [
      { kind: 'timeseries', w: 8, stack: true, title: 'Events ingested by type', unit: 'suffix: events/s', description: 'Events appended to the log, by event type.', queries: [{ expr: `sum by (turnstream_event_type) (${rate('turnstream_events_ingested_total')})`, legend: '{{turnstream_event_type}}' }] },
      { kind: 'timeseries', w: 8, stack: true, title: 'Events deduplicated by source', unit: 'suffix: events/s', description: 'Repeated event ids dropped (producer retries; expected with at-least-once delivery). "pipeline" = caught after the log.', queries: [{ expr: `sum by (turnstream_source) (${rate('turnstream_events_deduped_total')})`, legend: '{{turnstream_source}}' }] },
      { kind: 'timeseries', w: 8, stack: true, title: 'Events dead-lettered by reason', unit: 'suffix: events/s', thresholds: [{ value: 1, color: 'red' }], description: 'Rejected inputs by reason (duplicate included). `turnstream dead-letters --reason R` shows the raw inputs.', queries: [{ expr: `sum by (turnstream_reason) (${rate('turnstream_events_dead_lettered_total')})`, legend: '{{turnstream_reason}}' }] },
      { kind: 'bargauge', w: 8, title: 'Dead letters in range by reason', unit: 'suffix: events', decimals: 0, description: 'Rejected inputs in the selected range, by reason.', queries: [{ expr: 'sort_desc(sum by (turnstream_reason) (increase(turnstream_events_dead_lettered_total[$__range])))', legend: '{{turnstream_reason}}' }] },
      { kind: 'timeseries', w: 8, title: 'Consumer lag', unit: 'suffix: events', min: 0, thresholds: [{ value: 10000, color: 'red' }], description: 'Logged events not yet processed, per turnstream process (TurnstreamConsumerLagHigh above 10000 for 10 m).', queries: [{ expr: 'max by (instance) (turnstream_consumer_lag)', legend: '{{instance}}' }] },
      { kind: 'timeseries', w: 8, title: 'Turn revisions (late events)', unit: 'suffix: revisions/min', description: 'Closed turns re-emitted because an event arrived within the grace period.', queries: [{ expr: `sum by (gen_ai_agent_name) (${rate('turnstream_turn_revisions_total')}) * 60`, legend: '{{gen_ai_agent_name}}' }] },
      { kind: 'bargauge', w: 24, h: 5, title: 'Unpriced LLM calls since process start, by model', unit: 'suffix: calls', decimals: 0, thresholds: [{ value: 1, color: 'orange' }], description: 'Calls whose model is missing from the price table: counted at cost 0, so spend is under-reported until the price file has them.', queries: [{ expr: 'sort_desc(sum by (gen_ai_provider_name, gen_ai_request_model) (turnstream_llm_unpriced_total))', legend: '{{gen_ai_provider_name}}/{{gen_ai_request_model}}' }] },
    ],
  },
];

export const budgetsHealth = dashboard({
  uid: 'turnstream-budgets-health',
  title: 'turnstream / Budgets & health',
  description: 'Are we on budget, what is alerting, and is the pipeline keeping up.',
  variables: [datasourceVariable(), textboxVariable('budget', 'Daily budget (USD)', '100', 'Keep equal to turnstream:budget_usd_per_day in deploy/prometheus/rules/turnstream-cost.yml.')],
  rows,
  links: [{ title: 'Overview', uid: 'turnstream-overview' }],
});
