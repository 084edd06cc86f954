import { RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { barGauge, gauge, instantQuery, rangeQuery, stat, type Step, table, tableQuery, timeseries } from './panel-presets.ts';
import { finish, textboxVariable, turnstreamDashboard } from './turnstream-dashboard.ts';

// The windows and thresholds mirror deploy/prometheus/rules/turnstream-cost.yml, so what the
// board shows is what the alerts evaluate; $budget must match turnstream:budget_usd_per_day there
// (a test checks the defaults agree).
const BUDGET_USD_PER_DAY = '100';
const COST = 'turnstream_llm_cost_usd_total';
const burn = (window: string, by = ''): string => `${by === '' ? 'sum' : `sum by (${by}) `}(rate(${COST}[${window}])) * 86400 / $budget`;
const OURS = 'alertname=~"Turnstream.*"';
const rate = (sel: string): string => `rate(${sel}[$__rate_interval])`;
const spent24h = `sum(increase(${COST}[24h]))`;
const projected24h = `sum(rate(${COST}[1h])) * 86400`;
/** Burn-rate alerts: ticket above 3, page above 10. */
const BURN_STEPS: Step[] = [
  { value: 3, color: 'orange' },
  { value: 10, color: 'red' },
];

export const budgetsHealth = finish(
  turnstreamDashboard({
    uid: 'turnstream-budgets-health',
    title: 'turnstream / Budgets & health',
    description: 'Are we on budget, what is alerting, and is the pipeline keeping up.',
    link: { title: 'Overview', uid: 'turnstream-overview' },
  })
    .withVariable(
      textboxVariable(
        'budget',
        'Daily budget (USD)',
        BUDGET_USD_PER_DAY,
        'Keep equal to turnstream:budget_usd_per_day in deploy/prometheus/rules/turnstream-cost.yml.',
      ),
    )

    .withRow(new RowBuilder('Budget'))
    .withPanel(
      gauge(
        'Last 24 h spend, share of the daily budget',
        'Rolling 24 h spend / $budget. Orange at 80% (TurnstreamDailyCostCapWarning), red at 100% (TurnstreamDailyCostCapExceeded).',
        { value: 0.8, color: 'orange' },
        { value: 1, color: 'red' },
      )
        .unit('percentunit')
        .min(0)
        .max(1.2)
        .decimals(0)
        .span(6)
        .height(6)
        .withTarget(instantQuery(`${spent24h} / $budget`, 'share of budget')),
    )
    .withPanel(
      stat('Last 24 h spend', 'LLM spend over the last 24 hours (rolling, not since midnight).')
        .unit('currencyUSD')
        .decimals(2)
        .span(6)
        .height(6)
        .withTarget(instantQuery(spent24h, 'spent')),
    )
    .withPanel(
      stat("Projected 24 h spend at the last hour's pace", "What a day would cost if the last hour's spend rate held.")
        .unit('currencyUSD')
        .decimals(2)
        .span(6)
        .height(6)
        .withTarget(instantQuery(projected24h, 'projected')),
    )
    .withPanel(
      stat('Burn rate (1 h)', '1 = spending exactly $budget per 24 h. Alerts: > 3 over 6 h (ticket), > 10 over 1 h (page).', ...BURN_STEPS)
        .unit('suffix: ×')
        .decimals(1)
        .span(6)
        .height(6)
        .withTarget(instantQuery(burn('1h'), 'burn rate')),
    )
    .withPanel(
      timeseries('Spend against budget', "Rolling 24 h spend and the 24 h projection at the last hour's pace, against the daily budget ($budget).")
        .unit('currencyUSD')
        .span(12)
        .height(8)
        .withTarget(rangeQuery(spent24h, 'spent, last 24 h'))
        .withTarget(rangeQuery(projected24h, "projected 24 h at the last hour's pace"))
        .withTarget(rangeQuery('vector($budget)', 'daily budget')),
    )
    .withPanel(
      timeseries(
        'Burn rate, alert windows',
        'Spend rate / (budget per 24 h) over the windows the burn-rate alerts use: fast = 1 h and 5 m above 10, slow = 6 h and 30 m above 3.',
        { lines: BURN_STEPS },
      )
        .unit('suffix: ×')
        .min(0)
        .span(12)
        .height(8)
        .withTarget(rangeQuery(burn('5m'), '5m'))
        .withTarget(rangeQuery(burn('30m'), '30m'))
        .withTarget(rangeQuery(burn('1h'), '1h'))
        .withTarget(rangeQuery(burn('6h'), '6h')),
    )
    .withPanel(
      timeseries('Burn rate by agent (1 h)', "Each agent's share of the pace: the sum over agents is the 1 h burn rate.")
        .unit('suffix: ×')
        .min(0)
        .span(12)
        .height(8)
        .withTarget(rangeQuery(burn('1h', 'gen_ai_agent_name'), '{{gen_ai_agent_name}}')),
    )
    .withPanel(
      timeseries(
        'Agent spend vs its day-before average',
        "Last 15 m spend rate / the agent's average rate over the day before (TurnstreamAgentCostSpike fires above 5). Empty for agents younger than 15 minutes.",
        { lines: [{ value: 5, color: 'red' }] },
      )
        .unit('suffix: ×')
        .min(0)
        .span(12)
        .height(8)
        .withTarget(
          rangeQuery(`sum by (gen_ai_agent_name) (rate(${COST}[15m])) / sum by (gen_ai_agent_name) (rate(${COST}[1d] offset 15m))`, '{{gen_ai_agent_name}}'),
        ),
    )

    .withRow(new RowBuilder('Alerts'))
    .withPanel(
      stat('turnstream alerts firing', "Firing alerts from turnstream's rules (Prometheus ALERTS series).", { value: 1, color: 'red' })
        .unit('suffix: alerts')
        .decimals(0)
        .span(6)
        .height(6)
        .withTarget(instantQuery(`count(ALERTS{${OURS}, alertstate="firing"}) or vector(0)`, 'firing')),
    )
    .withPanel(
      table('Alerts firing now', 'One line per firing alert and label set.')
        .unit('suffix: alerts')
        .span(18)
        .height(6)
        .withTarget(
          tableQuery(
            `sum by (alertname, severity, category, gen_ai_agent_name, gen_ai_provider_name, gen_ai_request_model, turnstream_reason, instance) (ALERTS{${OURS}, alertstate="firing"})`,
            '{{alertname}}',
          ),
        ),
    )
    .withPanel(
      timeseries('Alerts over time', 'Pending and firing turnstream alerts by name.')
        .unit('suffix: alerts')
        .min(0)
        .span(24)
        .height(6)
        .withTarget(rangeQuery(`sum by (alertname, alertstate) (ALERTS{${OURS}})`, '{{alertname}} ({{alertstate}})')),
    )

    .withRow(new RowBuilder('Pipeline health'))
    .withPanel(
      timeseries('Events ingested by type', 'Events appended to the log, by event type.', { stack: true })
        .unit('suffix: events/s')
        .span(8)
        .height(8)
        .withTarget(rangeQuery(`sum by (turnstream_event_type) (${rate('turnstream_events_ingested_total')})`, '{{turnstream_event_type}}')),
    )
    .withPanel(
      timeseries(
        'Events deduplicated by source',
        'Repeated event ids dropped (producer retries; expected with at-least-once delivery). "pipeline" = caught after the log.',
        { stack: true },
      )
        .unit('suffix: events/s')
        .span(8)
        .height(8)
        .withTarget(rangeQuery(`sum by (turnstream_source) (${rate('turnstream_events_deduped_total')})`, '{{turnstream_source}}')),
    )
    .withPanel(
      timeseries(
        'Events dead-lettered by reason',
        'Rejected inputs by reason (duplicate included). `turnstream dead-letters --reason R` shows the raw inputs.',
        {
          stack: true,
          lines: [{ value: 1, color: 'red' }],
        },
      )
        .unit('suffix: events/s')
        .span(8)
        .height(8)
        .withTarget(rangeQuery(`sum by (turnstream_reason) (${rate('turnstream_events_dead_lettered_total')})`, '{{turnstream_reason}}')),
    )
    .withPanel(
      barGauge('Dead letters in range by reason', 'Rejected inputs in the selected range, by reason.')
        .unit('suffix: events')
        .decimals(0)
        .span(8)
        .height(8)
        .withTarget(instantQuery('sort_desc(sum by (turnstream_reason) (increase(turnstream_events_dead_lettered_total[$__range])))', '{{turnstream_reason}}')),
    )
    .withPanel(
      timeseries('Consumer lag', 'Logged events not yet processed, per turnstream process (TurnstreamConsumerLagHigh above 10000 for 10 m).', {
        lines: [{ value: 10000, color: 'red' }],
      })
        .unit('suffix: events')
        .min(0)
        .span(8)
        .height(8)
        .withTarget(rangeQuery('max by (instance) (turnstream_consumer_lag)', '{{instance}}')),
    )
    .withPanel(
      timeseries('Turn revisions (late events)', 'Closed turns re-emitted because an event arrived within the grace period.')
        .unit('suffix: revisions/min')
        .span(8)
        .height(8)
        .withTarget(rangeQuery(`sum by (gen_ai_agent_name) (${rate('turnstream_turn_revisions_total')}) * 60`, '{{gen_ai_agent_name}}')),
    )
    .withPanel(
      barGauge(
        'Unpriced LLM calls since process start, by model',
        'Calls whose model is missing from the price table: counted at cost 0, so spend is under-reported until the price file has them.',
        { value: 1, color: 'orange' },
      )
        .unit('suffix: calls')
        .decimals(0)
        .span(24)
        .height(5)
        .withTarget(
          instantQuery(
            'sort_desc(sum by (gen_ai_provider_name, gen_ai_request_model) (turnstream_llm_unpriced_total))',
            '{{gen_ai_provider_name}}/{{gen_ai_request_model}}',
          ),
        ),
    ),
);
