import { RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { barGauge, instantQuery, rangeQuery, stat, timeseries } from './panel-presets.ts';
import { finish, labelVariable, turnstreamDashboard } from './turnstream-dashboard.ts';

// Label filters. `gen_ai_client_*` histograms carry provider and model but no agent label, and
// the turn/tool metrics carry the agent but no model, so each family gets the filters it has.
const costSel = '{gen_ai_provider_name=~"$provider", gen_ai_request_model=~"$model", gen_ai_agent_name=~"$agent"}';
const cost = `turnstream_llm_cost_usd_total${costSel}`;
const tokens = (type = ''): string =>
  `turnstream_tokens_total{gen_ai_provider_name=~"$provider", gen_ai_request_model=~"$model", gen_ai_agent_name=~"$agent"${type === '' ? '' : `, turnstream_token_type${type.includes('|') ? '=~' : '='}"${type}"`}}`;
const genai = (name: string, extra = ''): string => `${name}{gen_ai_provider_name=~"$provider", gen_ai_request_model=~"$model"${extra}}`;
const byAgent = (name: string, extra = ''): string => `${name}{gen_ai_agent_name=~"$agent"${extra}}`;
const rate = (sel: string): string => `rate(${sel}[$__rate_interval])`;
const inRange = (sel: string): string => `increase(${sel}[$__range])`;
/** Prompt tokens: input excluding cache (turnstream's convention) + cache read + cache write. */
const PROMPT = 'input|cache_read|cache_write';
const toolErrors = ', turnstream_tool_outcome="error"';
const quantile = (q: number, by: string, sel: string): string => `histogram_quantile(${q}, sum by (${by}) (${rate(sel)}))`;

export const overview = finish(
  turnstreamDashboard({
    uid: 'turnstream-overview',
    title: 'turnstream / Overview',
    description: 'What do our agents cost, per provider, model and agent; how do turns, tokens and tools behave.',
    link: { title: 'Budgets & health', uid: 'turnstream-budgets-health' },
  })
    .withVariable(labelVariable('provider', 'Provider', 'label_values(turnstream_llm_cost_usd_total, gen_ai_provider_name)'))
    .withVariable(labelVariable('model', 'Model', 'label_values(turnstream_llm_cost_usd_total{gen_ai_provider_name=~"$provider"}, gen_ai_request_model)'))
    .withVariable(labelVariable('agent', 'Agent', 'label_values(turnstream_llm_cost_usd_total, gen_ai_agent_name)'))

    .withRow(new RowBuilder('At a glance (selected time range)'))
    .withPanel(
      stat('Spend', 'LLM spend in the selected range (USD), from turnstream_llm_cost_usd_total.')
        .unit('currencyUSD')
        .decimals(2)
        .span(4)
        .height(4)
        .withTarget(instantQuery(`sum(${inRange(cost)})`, 'spend')),
    )
    .withPanel(
      stat('Turns', 'Turns closed in the range (first closes; revisions are not counted again).')
        .unit('suffix: turns')
        .decimals(0)
        .span(4)
        .height(4)
        .withTarget(instantQuery(`sum(${inRange(byAgent('turnstream_turns_total'))})`, 'turns')),
    )
    .withPanel(
      stat(
        'Spend per turn',
        'Average LLM spend per closed turn in the range. Follows the agent filter only: turn metrics carry no provider or model (a turn can use several).',
      )
        .unit('currencyUSD')
        .decimals(4)
        .span(4)
        .height(4)
        .withTarget(
          instantQuery(`sum(${inRange(byAgent('turnstream_llm_cost_usd_total'))}) / sum(${inRange(byAgent('turnstream_turns_total'))})`, 'USD per turn'),
        ),
    )
    .withPanel(
      stat(
        'LLM calls',
        'LLM calls in the range: each call records its output tokens once in gen_ai_client_token_usage. Follows provider and model filters, not agent (that histogram has no agent label).',
      )
        .unit('suffix: calls')
        .decimals(0)
        .span(4)
        .height(4)
        .withTarget(instantQuery(`sum(${inRange(genai('gen_ai_client_token_usage_count', ', gen_ai_token_type="output"'))})`, 'calls')),
    )
    .withPanel(
      stat('Cache-hit ratio', 'Share of prompt tokens read from the provider cache: cache_read / (input + cache_read + cache_write).')
        .unit('percentunit')
        .decimals(1)
        .min(0)
        .max(1)
        .span(4)
        .height(4)
        .withTarget(instantQuery(`sum(${inRange(tokens('cache_read'))}) / sum(${inRange(tokens(PROMPT))})`, 'cache hits')),
    )
    .withPanel(
      stat('Tool error ratio', 'Share of tool calls that ended with an error in the range.', { value: 0.05, color: 'orange' }, { value: 0.2, color: 'red' })
        .unit('percentunit')
        .decimals(1)
        .min(0)
        .max(1)
        .span(4)
        .height(4)
        .withTarget(
          instantQuery(
            `(sum(${inRange(byAgent('turnstream_tool_calls_total', toolErrors))}) or vector(0)) / sum(${inRange(byAgent('turnstream_tool_calls_total'))})`,
            'errors',
          ),
        ),
    )

    .withRow(new RowBuilder('Spend over time'))
    .withPanel(
      timeseries('Spend rate by provider (USD per hour)', 'How fast money goes out, per provider, as USD per hour.', { stack: true })
        .unit('currencyUSD')
        .span(8)
        .height(8)
        .withTarget(rangeQuery(`sum by (gen_ai_provider_name) (${rate(cost)}) * 3600`, '{{gen_ai_provider_name}}')),
    )
    .withPanel(
      timeseries('Spend rate by model (USD per hour)', 'USD per hour per provider/model.', { stack: true })
        .unit('currencyUSD')
        .span(8)
        .height(8)
        .withTarget(
          rangeQuery(`sum by (gen_ai_provider_name, gen_ai_request_model) (${rate(cost)}) * 3600`, '{{gen_ai_provider_name}}/{{gen_ai_request_model}}'),
        ),
    )
    .withPanel(
      timeseries('Spend rate by agent (USD per hour)', 'USD per hour per agent (gen_ai.agent.name; "unknown" when the events name none).', { stack: true })
        .unit('currencyUSD')
        .span(8)
        .height(8)
        .withTarget(rangeQuery(`sum by (gen_ai_agent_name) (${rate(cost)}) * 3600`, '{{gen_ai_agent_name}}')),
    )

    .withRow(new RowBuilder('Tokens and cache'))
    .withPanel(
      timeseries('Tokens by type', 'Token throughput by type. input excludes cache tokens (Anthropic convention); reasoning is part of output.', {
        stack: true,
      })
        .unit('suffix: tokens/s')
        .span(12)
        .height(8)
        .withTarget(rangeQuery(`sum by (turnstream_token_type) (${rate(tokens())})`, '{{turnstream_token_type}}')),
    )
    .withPanel(
      timeseries(
        'Cache-hit ratio by model',
        'cache_read / (input + cache_read + cache_write) prompt tokens, per model. Low ratios on long sessions usually mean the prompt prefix changes between calls.',
      )
        .unit('percentunit')
        .min(0)
        .max(1)
        .span(12)
        .height(8)
        .withTarget(
          rangeQuery(
            `sum by (gen_ai_request_model) (${rate(tokens('cache_read'))}) / sum by (gen_ai_request_model) (${rate(tokens(PROMPT))})`,
            '{{gen_ai_request_model}}',
          ),
        ),
    )
    .withPanel(
      timeseries('Tokens per LLM call, p95', 'p95 of gen_ai.client.token.usage per call; input here INCLUDES cache tokens (OTel convention).')
        .unit('suffix: tokens')
        .span(12)
        .height(8)
        .withTarget(rangeQuery(quantile(0.95, 'le, gen_ai_token_type', genai('gen_ai_client_token_usage_bucket')), '{{gen_ai_token_type}}')),
    )
    .withPanel(
      timeseries('LLM call duration p50 / p95 by model', 'gen_ai.client.operation.duration for calls that reported a duration.')
        .unit('s')
        .span(12)
        .height(8)
        .withTarget(rangeQuery(quantile(0.5, 'le, gen_ai_request_model', genai('gen_ai_client_operation_duration_bucket')), 'p50 {{gen_ai_request_model}}'))
        .withTarget(rangeQuery(quantile(0.95, 'le, gen_ai_request_model', genai('gen_ai_client_operation_duration_bucket')), 'p95 {{gen_ai_request_model}}')),
    )

    .withRow(new RowBuilder('Turns'))
    .withPanel(
      timeseries(
        'Turns per minute by status and stop reason',
        'Closed turns: completed (turn.end) or abandoned (idle timeout), by the stop reason the agent reported ("none" when it gave none).',
        { stack: true },
      )
        .unit('suffix: turns/min')
        .span(12)
        .height(8)
        .withTarget(
          rangeQuery(
            `sum by (turnstream_turn_status, turnstream_turn_stop_reason) (${rate(byAgent('turnstream_turns_total'))}) * 60`,
            '{{turnstream_turn_status}} / {{turnstream_turn_stop_reason}}',
          ),
        ),
    )
    .withPanel(
      timeseries('Turn duration p50 / p95', 'Turn duration in event time (first to last event of the turn).')
        .unit('s')
        .span(12)
        .height(8)
        .withTarget(rangeQuery(quantile(0.5, 'le', byAgent('turnstream_turn_duration_bucket')), 'p50'))
        .withTarget(rangeQuery(quantile(0.95, 'le', byAgent('turnstream_turn_duration_bucket')), 'p95')),
    )
    .withPanel(
      timeseries('LLM calls per turn (mean, p95)', 'How many model calls a turn takes; a rising mean is an agent looping.')
        .unit('suffix: calls')
        .span(12)
        .height(8)
        .withTarget(rangeQuery(`sum(${rate(byAgent('turnstream_turn_llm_calls_sum'))}) / sum(${rate(byAgent('turnstream_turn_llm_calls_count'))})`, 'mean'))
        .withTarget(rangeQuery(quantile(0.95, 'le', byAgent('turnstream_turn_llm_calls_bucket')), 'p95')),
    )
    .withPanel(
      timeseries('Tool calls per turn (mean, p95)', 'How many tool calls a turn makes.')
        .unit('suffix: calls')
        .span(12)
        .height(8)
        .withTarget(rangeQuery(`sum(${rate(byAgent('turnstream_turn_tool_calls_sum'))}) / sum(${rate(byAgent('turnstream_turn_tool_calls_count'))})`, 'mean'))
        .withTarget(rangeQuery(quantile(0.95, 'le', byAgent('turnstream_turn_tool_calls_bucket')), 'p95')),
    )

    .withRow(new RowBuilder('Tools'))
    .withPanel(
      timeseries('Tool calls per minute by tool', 'Tool calls by gen_ai.tool.name, ok and error together.', { stack: true })
        .unit('suffix: calls/min')
        .span(12)
        .height(8)
        .withTarget(rangeQuery(`sum by (gen_ai_tool_name) (${rate(byAgent('turnstream_tool_calls_total'))}) * 60`, '{{gen_ai_tool_name}}')),
    )
    .withPanel(
      timeseries('Tool error rate by tool', "Share of each tool's calls that ended with an error (0 for tools without errors).", {
        lines: [{ value: 0.2, color: 'red' }],
      })
        .unit('percentunit')
        .min(0)
        .max(1)
        .span(12)
        .height(8)
        .withTarget(
          rangeQuery(
            `(sum by (gen_ai_tool_name) (${rate(byAgent('turnstream_tool_calls_total', toolErrors))}) or 0 * sum by (gen_ai_tool_name) (${rate(byAgent('turnstream_tool_calls_total'))})) / sum by (gen_ai_tool_name) (${rate(byAgent('turnstream_tool_calls_total'))})`,
            '{{gen_ai_tool_name}}',
          ),
        ),
    )

    .withRow(new RowBuilder('Top spenders (selected time range)'))
    .withPanel(
      barGauge('Top agents by cost', 'The ten agents that spent most in the range.')
        .unit('currencyUSD')
        .decimals(4)
        .span(12)
        .height(8)
        .withTarget(instantQuery(`sort_desc(topk(10, sum by (gen_ai_agent_name) (${inRange(cost)})))`, '{{gen_ai_agent_name}}')),
    )
    .withPanel(
      barGauge('Top models by cost', 'The ten provider/models that cost most in the range.')
        .unit('currencyUSD')
        .decimals(4)
        .span(12)
        .height(8)
        .withTarget(
          instantQuery(
            `sort_desc(topk(10, sum by (gen_ai_provider_name, gen_ai_request_model) (${inRange(cost)})))`,
            '{{gen_ai_provider_name}}/{{gen_ai_request_model}}',
          ),
        ),
    ),
);
