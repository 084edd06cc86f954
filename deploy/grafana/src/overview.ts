import { dashboard, datasourceVariable, labelVariable, type RowSpec } from './dashboard-kit.ts';

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

const rows: RowSpec[] = [
  {
    row: 'At a glance (selected time range)',
    panels: [
      { kind: 'stat', w: 4, h: 4, title: 'Spend', unit: 'currencyUSD', decimals: 2, description: 'LLM spend in the selected range (USD), from turnstream_llm_cost_usd_total.', queries: [{ expr: `sum(${inRange(cost)})`, legend: 'spend' }] },
      { kind: 'stat', w: 4, h: 4, title: 'Turns', unit: 'suffix: turns', decimals: 0, description: 'Turns closed in the range (first closes; revisions are not counted again).', queries: [{ expr: `sum(${inRange(byAgent('turnstream_turns_total'))})`, legend: 'turns' }] },
      { kind: 'stat', w: 4, h: 4, title: 'Spend per turn', unit: 'currencyUSD', decimals: 4, description: 'Average LLM spend per closed turn in the range. Follows the agent filter only: turn metrics carry no provider or model (a turn can use several).', queries: [{ expr: `sum(${inRange(byAgent('turnstream_llm_cost_usd_total'))}) / sum(${inRange(byAgent('turnstream_turns_total'))})`, legend: 'USD per turn' }] },
      { kind: 'stat', w: 4, h: 4, title: 'LLM calls', unit: 'suffix: calls', decimals: 0, description: 'LLM calls in the range: each call records its output tokens once in gen_ai_client_token_usage. Follows provider and model filters, not agent (that histogram has no agent label).', queries: [{ expr: `sum(${inRange(genai('gen_ai_client_token_usage_count', ', gen_ai_token_type="output"'))})`, legend: 'calls' }] },
      { kind: 'stat', w: 4, h: 4, title: 'Cache-hit ratio', unit: 'percentunit', decimals: 1, min: 0, max: 1, description: 'Share of prompt tokens read from the provider cache: cache_read / (input + cache_read + cache_write).', queries: [{ expr: `sum(${inRange(tokens('cache_read'))}) / sum(${inRange(tokens(PROMPT))})`, legend: 'cache hits' }] },
      { kind: 'stat', w: 4, h: 4, title: 'Tool error ratio', unit: 'percentunit', decimals: 1, min: 0, max: 1, thresholds: [{ value: 0.05, color: 'orange' }, { value: 0.2, color: 'red' }], description: 'Share of tool calls that ended with an error in the range.', queries: [{ expr: `(sum(${inRange(byAgent('turnstream_tool_calls_total', ', turnstream_tool_outcome="error"'))}) or vector(0)) / sum(${inRange(byAgent('turnstream_tool_calls_total'))})`, legend: 'errors' }] },
    ],
  },
  {
    row: 'Spend over time',
    panels: [
      { kind: 'timeseries', w: 8, stack: true, title: 'Spend rate by provider (USD per hour)', unit: 'currencyUSD', description: 'How fast money goes out, per provider, as USD per hour.', queries: [{ expr: `sum by (gen_ai_provider_name) (${rate(cost)}) * 3600`, legend: '{{gen_ai_provider_name}}' }] },
      { kind: 'timeseries', w: 8, stack: true, title: 'Spend rate by model (USD per hour)', unit: 'currencyUSD', description: 'USD per hour per provider/model.', queries: [{ expr: `sum by (gen_ai_provider_name, gen_ai_request_model) (${rate(cost)}) * 3600`, legend: '{{gen_ai_provider_name}}/{{gen_ai_request_model}}' }] },
      { kind: 'timeseries', w: 8, stack: true, title: 'Spend rate by agent (USD per hour)', unit: 'currencyUSD', description: 'USD per hour per agent (gen_ai.agent.name; "unknown" when the events name none).', queries: [{ expr: `sum by (gen_ai_agent_name) (${rate(cost)}) * 3600`, legend: '{{gen_ai_agent_name}}' }] },
    ],
  },
  {
    row: 'Tokens and cache',
    panels: [
      { kind: 'timeseries', w: 12, stack: true, title: 'Tokens by type', unit: 'suffix: tokens/s', description: 'Token throughput by type. input excludes cache tokens (Anthropic convention); reasoning is part of output.', queries: [{ expr: `sum by (turnstream_token_type) (${rate(tokens())})`, legend: '{{turnstream_token_type}}' }] },
      { kind: 'timeseries', w: 12, title: 'Cache-hit ratio by model', unit: 'percentunit', min: 0, max: 1, description: 'cache_read / (input + cache_read + cache_write) prompt tokens, per model. Low ratios on long sessions usually mean the prompt prefix changes between calls.', queries: [{ expr: `sum by (gen_ai_request_model) (${rate(tokens('cache_read'))}) / sum by (gen_ai_request_model) (${rate(tokens(PROMPT))})`, legend: '{{gen_ai_request_model}}' }] },
      { kind: 'timeseries', w: 12, title: 'Tokens per LLM call, p95', unit: 'suffix: tokens', description: 'p95 of gen_ai.client.token.usage per call; input here INCLUDES cache tokens (OTel convention).', queries: [{ expr: `histogram_quantile(0.95, sum by (le, gen_ai_token_type) (${rate(genai('gen_ai_client_token_usage_bucket'))}))`, legend: '{{gen_ai_token_type}}' }] },
      { kind: 'timeseries', w: 12, title: 'LLM call duration p50 / p95 by model', unit: 's', description: 'gen_ai.client.operation.duration for calls that reported a duration.', queries: [
        { expr: `histogram_quantile(0.5, sum by (le, gen_ai_request_model) (${rate(genai('gen_ai_client_operation_duration_bucket'))}))`, legend: 'p50 {{gen_ai_request_model}}' },
        { expr: `histogram_quantile(0.95, sum by (le, gen_ai_request_model) (${rate(genai('gen_ai_client_operation_duration_bucket'))}))`, legend: 'p95 {{gen_ai_request_model}}' },
      ] },
    ],
  },
  {
    row: 'Turns',
    panels: [
      { kind: 'timeseries', w: 12, stack: true, title: 'Turns per minute by status and stop reason', unit: 'suffix: turns/min', description: 'Closed turns: completed (turn.end) or abandoned (idle timeout), by the stop reason the agent reported ("none" when it gave none).', queries: [{ expr: `sum by (turnstream_turn_status, turnstream_turn_stop_reason) (${rate(byAgent('turnstream_turns_total'))}) * 60`, legend: '{{turnstream_turn_status}} / {{turnstream_turn_stop_reason}}' }] },
      { kind: 'timeseries', w: 12, title: 'Turn duration p50 / p95', unit: 's', description: 'Turn duration in event time (first to last event of the turn).', queries: [
        { expr: `histogram_quantile(0.5, sum by (le) (${rate(byAgent('turnstream_turn_duration_bucket'))}))`, legend: 'p50' },
        { expr: `histogram_quantile(0.95, sum by (le) (${rate(byAgent('turnstream_turn_duration_bucket'))}))`, legend: 'p95' },
      ] },
      { kind: 'timeseries', w: 12, title: 'LLM calls per turn (mean, p95)', unit: 'suffix: calls', description: 'How many model calls a turn takes; a rising mean is an agent looping.', queries: [
        { expr: `sum(${rate(byAgent('turnstream_turn_llm_calls_sum'))}) / sum(${rate(byAgent('turnstream_turn_llm_calls_count'))})`, legend: 'mean' },
        { expr: `histogram_quantile(0.95, sum by (le) (${rate(byAgent('turnstream_turn_llm_calls_bucket'))}))`, legend: 'p95' },
      ] },
      { kind: 'timeseries', w: 12, title: 'Tool calls per turn (mean, p95)', unit: 'suffix: calls', description: 'How many tool calls a turn makes.', queries: [
        { expr: `sum(${rate(byAgent('turnstream_turn_tool_calls_sum'))}) / sum(${rate(byAgent('turnstream_turn_tool_calls_count'))})`, legend: 'mean' },
        { expr: `histogram_quantile(0.95, sum by (le) (${rate(byAgent('turnstream_turn_tool_calls_bucket'))}))`, legend: 'p95' },
      ] },
    ],
  },
  {
    row: 'Tools',
    panels: [
      { kind: 'timeseries', w: 12, stack: true, title: 'Tool calls per minute by tool', unit: 'suffix: calls/min', description: 'Tool calls by gen_ai.tool.name, ok and error together.', queries: [{ expr: `sum by (gen_ai_tool_name) (${rate(byAgent('turnstream_tool_calls_total'))}) * 60`, legend: '{{gen_ai_tool_name}}' }] },
      { kind: 'timeseries', w: 12, title: 'Tool error rate by tool', unit: 'percentunit', min: 0, max: 1, thresholds: [{ value: 0.2, color: 'red' }], description: 'Share of each tool\'s calls that ended with an error (0 for tools without errors).', queries: [{ expr: `(sum by (gen_ai_tool_name) (${rate(byAgent('turnstream_tool_calls_total', ', turnstream_tool_outcome="error"'))}) or 0 * sum by (gen_ai_tool_name) (${rate(byAgent('turnstream_tool_calls_total'))})) / sum by (gen_ai_tool_name) (${rate(byAgent('turnstream_tool_calls_total'))})`, legend: '{{gen_ai_tool_name}}' }] },
    ],
  },
  {
    row: 'Top spenders (selected time range)',
    panels: [
      { kind: 'bargauge', w: 12, title: 'Top agents by cost', unit: 'currencyUSD', decimals: 4, description: 'The ten agents that spent most in the range.', queries: [{ expr: `sort_desc(topk(10, sum by (gen_ai_agent_name) (${inRange(cost)})))`, legend: '{{gen_ai_agent_name}}' }] },
      { kind: 'bargauge', w: 12, title: 'Top models by cost', unit: 'currencyUSD', decimals: 4, description: 'The ten provider/models that cost most in the range.', queries: [{ expr: `sort_desc(topk(10, sum by (gen_ai_provider_name, gen_ai_request_model) (${inRange(cost)})))`, legend: '{{gen_ai_provider_name}}/{{gen_ai_request_model}}' }] },
    ],
  },
];

export const overview = dashboard({
  uid: 'turnstream-overview',
  title: 'turnstream / Overview',
  description: 'What do our agents cost, per provider, model and agent; how do turns, tokens and tools behave.',
  variables: [
    datasourceVariable(),
    labelVariable('provider', 'Provider', 'label_values(turnstream_llm_cost_usd_total, gen_ai_provider_name)'),
    labelVariable('model', 'Model', 'label_values(turnstream_llm_cost_usd_total{gen_ai_provider_name=~"$provider"}, gen_ai_request_model)'),
    labelVariable('agent', 'Agent', 'label_values(turnstream_llm_cost_usd_total, gen_ai_agent_name)'),
  ],
  rows,
  links: [{ title: 'Budgets & health', uid: 'turnstream-budgets-health' }],
});
