import type { Attributes, Counter, Meter } from '@opentelemetry/api';
import { REJECT_REASONS, type RejectReason } from '../events/reject-reason.ts';
import { otelInputTokens } from '../events/token-convention.ts';
import type { BudgetAlert } from '../streams/budget-rule.ts';
import type { ModelBreakdown, TurnAggregate } from '../streams/turn-aggregate.ts';
import * as sc from './semconv.ts';

export interface PipelineMetrics {
  /** Records a closed turn (revision 0) or the difference a revision makes. Counters are summed until `flush`. */
  recordTurn(a: TurnAggregate): void;
  /** Hands the counter sums of the turns recorded since the last flush to the SDK (once per batch). */
  flush(): void;
  recordIngested(type: string, source: string, count?: number): void;
  recordDeduped(source: string, count?: number): void;
  recordDeadLettered(reason: RejectReason, source: string, count?: number): void;
  recordUnpriced(provider: string, model: string): void;
  /** Counts a budget alert and tracks how many rule keys are firing (no session label). */
  recordAlert(a: BudgetAlert): void;
  /** Reports `lag()` (events in the log not yet processed) at each collection. */
  observeLag(lag: () => number): void;
}

const TOKEN_TYPES = ['inputTokens', 'outputTokens', 'cacheReadTokens', 'cacheWriteTokens', 'reasoningTokens'] as const;
const TOKEN_TYPE_LABEL = { inputTokens: 'input', outputTokens: 'output', cacheReadTokens: 'cache_read', cacheWriteTokens: 'cache_write', reasoningTokens: 'reasoning' } as const;

/**
 * The metrics of DESIGN.md §5 on an injected `Meter`. Counters (cost, tokens, tool calls) are exact
 * under revisions: a revision adds only its difference. Histograms and `turns` describe first
 * closes (a revision counts in `turnstream.turn.revisions`). Session ids are never labels.
 */
export function createPipelineMetrics(meter: Meter): PipelineMetrics {
  const tokenUsage = meter.createHistogram(sc.METRIC_GEN_AI_TOKEN_USAGE, { unit: '{token}', description: 'Tokens per LLM call (input includes cache tokens, OTel convention)', advice: { explicitBucketBoundaries: sc.TOKEN_BUCKETS } });
  const opDuration = meter.createHistogram(sc.METRIC_GEN_AI_OPERATION_DURATION, { unit: 's', description: 'LLM call duration', advice: { explicitBucketBoundaries: sc.DURATION_BUCKETS_S } });
  const cost = meter.createCounter(sc.METRIC_COST, { unit: 'USD', description: 'LLM spend in USD' });
  const tokens = meter.createCounter(sc.METRIC_TOKENS, { unit: '{token}', description: 'Tokens by type; input excludes cache tokens' });
  const turns = meter.createCounter(sc.METRIC_TURNS, { unit: '{turn}', description: 'Closed turns by status and stop reason' });
  const revisions = meter.createCounter(sc.METRIC_TURN_REVISIONS, { unit: '{revision}', description: 'Turns re-emitted because of late events' });
  const turnDuration = meter.createHistogram(sc.METRIC_TURN_DURATION, { unit: 's', description: 'Turn duration (event time)', advice: { explicitBucketBoundaries: sc.TURN_DURATION_BUCKETS_S } });
  const turnTools = meter.createHistogram(sc.METRIC_TURN_TOOL_CALLS, { unit: '{call}', description: 'Tool calls per turn', advice: { explicitBucketBoundaries: sc.PER_TURN_COUNT_BUCKETS } });
  const turnLlm = meter.createHistogram(sc.METRIC_TURN_LLM_CALLS, { unit: '{call}', description: 'LLM calls per turn', advice: { explicitBucketBoundaries: sc.PER_TURN_COUNT_BUCKETS } });
  const toolCalls = meter.createCounter(sc.METRIC_TOOL_CALLS, { unit: '{call}', description: 'Tool calls by tool and outcome' });
  const ingested = meter.createCounter(sc.METRIC_EVENTS_INGESTED, { unit: '{event}', description: 'Events appended to the log' });
  const deduped = meter.createCounter(sc.METRIC_EVENTS_DEDUPED, { unit: '{event}', description: 'Duplicate events dropped (same id)' });
  const dead = meter.createCounter(sc.METRIC_EVENTS_DEAD_LETTERED, { unit: '{event}', description: 'Inputs sent to dead letters, by reason' });
  const unpriced = meter.createCounter(sc.METRIC_UNPRICED, { unit: '{call}', description: 'LLM calls whose model has no price (cost counted as 0)' });
  const alerts = meter.createCounter(sc.METRIC_BUDGET_ALERTS, { unit: '{alert}', description: 'Budget alerts emitted, by rule, level and status' });
  const firing = meter.createUpDownCounter(sc.METRIC_BUDGET_FIRING, { unit: '{alert}', description: 'Budget rule keys currently over a threshold' });
  const lag = meter.createObservableGauge(sc.METRIC_CONSUMER_LAG, { unit: '{event}', description: 'Events in the log not yet processed' });

  // Series that exist from the start at 0, so that the first rejection after a start shows up in
  // rate()/increase() (Prometheus takes a new series' first sample as its baseline).
  for (const source of ['http', 'pipeline']) {
    deduped.add(0, { [sc.ATTR_SOURCE]: source });
    for (const reason of REJECT_REASONS) dead.add(0, { [sc.ATTR_REASON]: reason, [sc.ATTR_SOURCE]: source });
  }

  const modelKey = (m: { provider: string; model: string }): string => `${m.provider}\u0000${m.model}`;

  // Counter additions are summed per (instrument, label set) and handed to the SDK once per batch:
  // the SDK hashes the attributes of every call, which dominated metric cost at ~25 calls a turn.
  const pending = new Map<string, { counter: Counter; attrs: Attributes; value: number }>();
  const add = (counter: Counter, name: string, key: string, value: number, attrs: () => Attributes): void => {
    const k = `${name}\u0001${key}`;
    const entry = pending.get(k);
    if (entry !== undefined) entry.value += value;
    else pending.set(k, { counter, attrs: attrs(), value });
  };

  const recordModelDelta = (m: ModelBreakdown, before: ModelBreakdown | undefined, agent: string): void => {
    const key = `${m.provider}\u0000${m.model}\u0000${agent}`;
    const attrs = (): Attributes => ({ [sc.ATTR_GEN_AI_PROVIDER_NAME]: m.provider, [sc.ATTR_GEN_AI_REQUEST_MODEL]: m.model, [sc.ATTR_GEN_AI_AGENT_NAME]: agent });
    const dc = m.cost - (before?.cost ?? 0);
    if (dc > 0) add(cost, 'cost', key, dc, attrs);
    for (const t of TOKEN_TYPES) {
      const d = m[t] - (before?.[t] ?? 0);
      if (d > 0) add(tokens, t, key, d, () => ({ ...attrs(), [sc.ATTR_TOKEN_TYPE]: TOKEN_TYPE_LABEL[t] }));
    }
  };

  return {
    recordTurn(a) {
      const agent = a.agent ?? 'unknown';
      const prev = a.supersedes;
      const prevModels = new Map((prev?.models ?? []).map((m) => [modelKey(m), m]));
      for (const m of a.models) recordModelDelta(m, prevModels.get(modelKey(m)), agent);

      const seenCalls = new Set(prev?.llm.map((c) => c.eventId));
      for (const c of a.llm) {
        if (seenCalls.has(c.eventId)) continue;
        const attrs: Attributes = { [sc.ATTR_GEN_AI_OPERATION_NAME]: sc.GEN_AI_OPERATION_CHAT, [sc.ATTR_GEN_AI_PROVIDER_NAME]: c.provider, [sc.ATTR_GEN_AI_REQUEST_MODEL]: c.model, [sc.ATTR_GEN_AI_AGENT_NAME]: agent };
        tokenUsage.record(otelInputTokens(c), { ...attrs, [sc.ATTR_GEN_AI_TOKEN_TYPE]: sc.GEN_AI_TOKEN_TYPE_INPUT });
        tokenUsage.record(c.outputTokens, { ...attrs, [sc.ATTR_GEN_AI_TOKEN_TYPE]: sc.GEN_AI_TOKEN_TYPE_OUTPUT });
        if (c.endMs > c.startMs) opDuration.record((c.endMs - c.startMs) / 1000, attrs);
      }
      const seenTools = new Set(prev?.tools.map((t) => t.toolCallId));
      for (const t of a.tools) {
        if (seenTools.has(t.toolCallId)) continue;
        const outcome = t.error === undefined ? 'ok' : 'error';
        add(toolCalls, 'tool', `${t.toolName}\u0000${outcome}\u0000${agent}`, 1, () => ({ [sc.ATTR_GEN_AI_TOOL_NAME]: t.toolName, [sc.ATTR_TOOL_OUTCOME]: outcome, [sc.ATTR_GEN_AI_AGENT_NAME]: agent }));
      }
      if (a.revision > 0) {
        add(revisions, 'revision', agent, 1, () => ({ [sc.ATTR_GEN_AI_AGENT_NAME]: agent }));
        return;
      }
      const turnAttrs: Attributes = { [sc.ATTR_GEN_AI_AGENT_NAME]: agent, [sc.ATTR_TURN_STATUS]: a.status };
      const stop = a.stopReason ?? 'none';
      add(turns, 'turn', `${agent}\u0000${a.status}\u0000${stop}`, 1, () => ({ ...turnAttrs, [sc.ATTR_TURN_STOP_REASON]: stop }));
      turnDuration.record(a.durationMs / 1000, turnAttrs);
      turnTools.record(a.toolCallCount, turnAttrs);
      turnLlm.record(a.llmCallCount, turnAttrs);
    },
    flush() {
      for (const { counter, attrs, value } of pending.values()) counter.add(value, attrs);
      pending.clear();
    },
    recordIngested(type, source, count = 1) {
      ingested.add(count, { [sc.ATTR_EVENT_TYPE]: type, [sc.ATTR_SOURCE]: source });
    },
    recordDeduped(source, count = 1) {
      deduped.add(count, { [sc.ATTR_SOURCE]: source });
    },
    recordDeadLettered(reason, source, count = 1) {
      dead.add(count, { [sc.ATTR_REASON]: reason, [sc.ATTR_SOURCE]: source });
    },
    recordUnpriced(provider, model) {
      unpriced.add(1, { [sc.ATTR_GEN_AI_PROVIDER_NAME]: provider, [sc.ATTR_GEN_AI_REQUEST_MODEL]: model });
    },
    recordAlert(a) {
      const attrs = { [sc.ATTR_BUDGET_RULE]: a.rule, [sc.ATTR_BUDGET_LEVEL]: a.level };
      alerts.add(1, { ...attrs, [sc.ATTR_BUDGET_STATUS]: a.status });
      firing.add(a.status === 'firing' ? 1 : -1, attrs);
    },
    observeLag(fn) {
      lag.addCallback((result) => result.observe(fn()));
    },
  };
}
