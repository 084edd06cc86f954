/**
 * Every attribute and metric name turnstream exports, in one place. GenAI names follow the
 * OpenTelemetry GenAI semantic conventions (Development stability); `turnstream.*` names are ours
 * where no convention exists yet. Prometheus sees dots as underscores and counters with `_total`
 * (the JS Prometheus exporter appends no units): the PROM_* names are what dashboards must query.
 */

// Span and metric attributes (GenAI conventions)
export const ATTR_GEN_AI_OPERATION_NAME = 'gen_ai.operation.name';
export const ATTR_GEN_AI_PROVIDER_NAME = 'gen_ai.provider.name';
export const ATTR_GEN_AI_REQUEST_MODEL = 'gen_ai.request.model';
export const ATTR_GEN_AI_AGENT_NAME = 'gen_ai.agent.name';
export const ATTR_GEN_AI_CONVERSATION_ID = 'gen_ai.conversation.id';
/** OTel convention: INCLUDES cache-read and cache-write tokens (unlike our event's `inputTokens`). */
export const ATTR_GEN_AI_USAGE_INPUT_TOKENS = 'gen_ai.usage.input_tokens';
export const ATTR_GEN_AI_USAGE_OUTPUT_TOKENS = 'gen_ai.usage.output_tokens';
export const ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS = 'gen_ai.usage.cache_read.input_tokens';
export const ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS = 'gen_ai.usage.cache_creation.input_tokens';
export const ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS = 'gen_ai.usage.reasoning.output_tokens';
/** No standard attribute for cost yet; one constant so it can change in one place. USD. */
export const ATTR_GEN_AI_USAGE_COST = 'gen_ai.usage.cost';
export const ATTR_GEN_AI_RESPONSE_FINISH_REASONS = 'gen_ai.response.finish_reasons';
export const ATTR_GEN_AI_TOOL_NAME = 'gen_ai.tool.name';
export const ATTR_GEN_AI_TOOL_CALL_ID = 'gen_ai.tool.call.id';
export const ATTR_GEN_AI_TOKEN_TYPE = 'gen_ai.token.type';
export const ATTR_ERROR_TYPE = 'error.type';
export const ATTR_SESSION_ID = 'session.id';

export const GEN_AI_OPERATION_INVOKE_AGENT = 'invoke_agent';
export const GEN_AI_OPERATION_CHAT = 'chat';
export const GEN_AI_OPERATION_EXECUTE_TOOL = 'execute_tool';
export const GEN_AI_TOKEN_TYPE_INPUT = 'input';
export const GEN_AI_TOKEN_TYPE_OUTPUT = 'output';

// turnstream attributes
export const ATTR_TURN_ID = 'turnstream.turn.id';
export const ATTR_TURN_STATUS = 'turnstream.turn.status';
export const ATTR_TURN_STOP_REASON = 'turnstream.turn.stop_reason';
export const ATTR_TURN_REVISION = 'turnstream.turn.revision';
export const ATTR_TURN_TOOL_CALLS = 'turnstream.turn.tool_calls';
export const ATTR_TURN_LLM_CALLS = 'turnstream.turn.llm_calls';
export const ATTR_COST_SOURCE = 'turnstream.cost.source';
/** Token type of `turnstream.tokens`: input (excluding cache), output, cache_read, cache_write, reasoning. */
export const ATTR_TOKEN_TYPE = 'turnstream.token.type';
export const ATTR_TOOL_OUTCOME = 'turnstream.tool.outcome';
export const ATTR_EVENT_TYPE = 'turnstream.event.type';
export const ATTR_REASON = 'turnstream.reason';
export const ATTR_SOURCE = 'turnstream.source';
export const ATTR_BUDGET_RULE = 'turnstream.budget.rule';
export const ATTR_BUDGET_LEVEL = 'turnstream.budget.level';
export const ATTR_BUDGET_STATUS = 'turnstream.budget.status';
/** The attribute name whose value was folded (on `turnstream.label_values.folded`). */
export const ATTR_LABEL = 'turnstream.label';
/** The label-set family whose combination was folded (on `turnstream.label_sets.folded`). */
export const ATTR_LABEL_SET = 'turnstream.label_set';

/**
 * The value a producer-chosen label takes once its cap is reached (see label-value-cap.ts).
 * A producer that names a model `other` shares the series: the name is short and reads well.
 */
export const LABEL_VALUE_OTHER = 'other';
/** Label-set families: the producer-chosen labels that are capped together (values of ATTR_LABEL_SET). */
export const LABEL_SET_MODEL = 'model'; // provider × model × agent
export const LABEL_SET_TOOL = 'tool'; // tool × agent
export const LABEL_SET_TURN = 'turn'; // agent × stop reason
export const LABEL_SET_UNPRICED = 'unpriced'; // provider × model
export const LABEL_SET_MODEL_HISTOGRAM = 'model_histogram'; // provider × model × agent on LLM-call histograms
export const LABEL_SET_AGENT_HISTOGRAM = 'agent_histogram'; // agent on per-turn histograms

// Metric names (OTel) and what Prometheus exposes for them
export const METRIC_GEN_AI_TOKEN_USAGE = 'gen_ai.client.token.usage';
export const METRIC_GEN_AI_OPERATION_DURATION = 'gen_ai.client.operation.duration';
export const METRIC_COST = 'turnstream.llm.cost_usd';
export const METRIC_TOKENS = 'turnstream.tokens';
export const METRIC_TURNS = 'turnstream.turns';
export const METRIC_TURN_REVISIONS = 'turnstream.turn.revisions';
export const METRIC_TURN_DURATION = 'turnstream.turn.duration';
export const METRIC_TURN_TOOL_CALLS = 'turnstream.turn.tool_calls';
export const METRIC_TURN_LLM_CALLS = 'turnstream.turn.llm_calls';
export const METRIC_TOOL_CALLS = 'turnstream.tool.calls';
export const METRIC_EVENTS_INGESTED = 'turnstream.events.ingested';
export const METRIC_EVENTS_DEDUPED = 'turnstream.events.deduped';
export const METRIC_EVENTS_DEAD_LETTERED = 'turnstream.events.dead_lettered';
export const METRIC_UNPRICED = 'turnstream.llm.unpriced';
export const METRIC_CONSUMER_LAG = 'turnstream.consumer.lag';
export const METRIC_BUDGET_ALERTS = 'turnstream.budget.alerts';
export const METRIC_BUDGET_FIRING = 'turnstream.budget.firing';
export const METRIC_LABEL_VALUES_FOLDED = 'turnstream.label_values.folded';
export const METRIC_LABEL_SETS_FOLDED = 'turnstream.label_sets.folded';

export const PROM_TOKEN_USAGE = 'gen_ai_client_token_usage';
export const PROM_OPERATION_DURATION = 'gen_ai_client_operation_duration';
export const PROM_COST = 'turnstream_llm_cost_usd_total';
export const PROM_TOKENS = 'turnstream_tokens_total';
export const PROM_TURNS = 'turnstream_turns_total';
export const PROM_TURN_REVISIONS = 'turnstream_turn_revisions_total';
export const PROM_TURN_DURATION = 'turnstream_turn_duration';
export const PROM_TURN_TOOL_CALLS = 'turnstream_turn_tool_calls';
export const PROM_TURN_LLM_CALLS = 'turnstream_turn_llm_calls';
export const PROM_TOOL_CALLS = 'turnstream_tool_calls_total';
export const PROM_EVENTS_INGESTED = 'turnstream_events_ingested_total';
export const PROM_EVENTS_DEDUPED = 'turnstream_events_deduped_total';
export const PROM_EVENTS_DEAD_LETTERED = 'turnstream_events_dead_lettered_total';
export const PROM_UNPRICED = 'turnstream_llm_unpriced_total';
export const PROM_CONSUMER_LAG = 'turnstream_consumer_lag';
export const PROM_BUDGET_ALERTS = 'turnstream_budget_alerts_total';
export const PROM_BUDGET_FIRING = 'turnstream_budget_firing';
export const PROM_LABEL_VALUES_FOLDED = 'turnstream_label_values_folded_total';
export const PROM_LABEL_SETS_FOLDED = 'turnstream_label_sets_folded_total';

/** Bucket boundaries the GenAI conventions recommend. */
export const TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
export const DURATION_BUCKETS_S = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
export const TURN_DURATION_BUCKETS_S = [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200];
export const PER_TURN_COUNT_BUCKETS = [0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89];
