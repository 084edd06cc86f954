import type { Attributes, Counter, Meter } from '@opentelemetry/api';
import { REJECT_REASONS, type RejectReason } from '../events/reject-reason.ts';
import { otelInputTokens } from '../events/token-convention.ts';
import type { BudgetAlert } from '../streams/budget-rule.ts';
import type { ModelBreakdown, TurnAggregate } from '../model/turn-aggregate.ts';
import type { HistogramSource } from './histogram-producer.ts';
import { LabelCache } from './label-cache.ts';
import { createLabelValueCap, DEFAULT_MAX_HISTOGRAM_LABEL_SETS } from './label-value-cap.ts';
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

export interface PipelineMetricsOptions {
  /** Distinct values kept per producer-chosen label name (model, provider, agent, tool, stop reason); default 200. */
  readonly maxLabelValues?: number;
  /** Distinct combinations kept per label-set family (e.g. provider × model × agent); default 1000. */
  readonly maxLabelSets?: number;
  /** Distinct combinations kept per histogram family (model × agent on LLM calls, agent on turns); default 25. */
  readonly maxHistogramLabelSets?: number;
}

const TOKEN_TYPES = ['inputTokens', 'outputTokens', 'cacheReadTokens', 'cacheWriteTokens', 'reasoningTokens'] as const;
/** The producer-chosen labels that are capped, and the families capped together (their folded series exist from the start). */
const CAPPED_LABELS = [
  sc.ATTR_GEN_AI_PROVIDER_NAME,
  sc.ATTR_GEN_AI_REQUEST_MODEL,
  sc.ATTR_GEN_AI_AGENT_NAME,
  sc.ATTR_GEN_AI_TOOL_NAME,
  sc.ATTR_TURN_STOP_REASON,
];
const LABEL_SET_FAMILIES = [
  sc.LABEL_SET_MODEL,
  sc.LABEL_SET_TOOL,
  sc.LABEL_SET_TURN,
  sc.LABEL_SET_UNPRICED,
  sc.LABEL_SET_MODEL_HISTOGRAM,
  sc.LABEL_SET_AGENT_HISTOGRAM,
];
const TOKEN_TYPE_LABEL = {
  inputTokens: 'input',
  outputTokens: 'output',
  cacheReadTokens: 'cache_read',
  cacheWriteTokens: 'cache_write',
  reasoningTokens: 'reasoning',
} as const;

/**
 * The metrics of DESIGN.md §5: counters on an injected `Meter`, histograms from `hist`
 * (histogram-producer.ts). Counters (cost, tokens, tool calls) are exact under revisions: a
 * revision adds only its difference. Histograms and `turns` describe first closes (a revision
 * counts in `turnstream.turn.revisions`). Session ids are never labels.
 * Producer-chosen label values are capped (label-value-cap.ts): past the caps they read `other`,
 * and `turnstream.label_values.folded` / `turnstream.label_sets.folded` count the folded recordings.
 */
// long: one table of every instrument (DESIGN.md §5) and the recorders that share them; split, the names would scatter.
export function createPipelineMetrics(meter: Meter, options: PipelineMetricsOptions, hist: HistogramSource): PipelineMetrics {
  const tokenUsage = hist.histogram(sc.METRIC_GEN_AI_TOKEN_USAGE, {
    unit: '{token}',
    description: 'Tokens per LLM call (input includes cache tokens, OTel convention)',
    boundaries: sc.TOKEN_BUCKETS,
  });
  const opDuration = hist.histogram(sc.METRIC_GEN_AI_OPERATION_DURATION, { unit: 's', description: 'LLM call duration', boundaries: sc.DURATION_BUCKETS_S });
  const cost = meter.createCounter(sc.METRIC_COST, { unit: 'USD', description: 'LLM spend in USD' });
  const tokens = meter.createCounter(sc.METRIC_TOKENS, { unit: '{token}', description: 'Tokens by type; input excludes cache tokens' });
  const turns = meter.createCounter(sc.METRIC_TURNS, { unit: '{turn}', description: 'Closed turns by status and stop reason' });
  const revisions = meter.createCounter(sc.METRIC_TURN_REVISIONS, { unit: '{revision}', description: 'Turns re-emitted because of late events' });
  const turnDuration = hist.histogram(sc.METRIC_TURN_DURATION, {
    unit: 's',
    description: 'Turn duration (event time)',
    boundaries: sc.TURN_DURATION_BUCKETS_S,
  });
  const turnTools = hist.histogram(sc.METRIC_TURN_TOOL_CALLS, { unit: '{call}', description: 'Tool calls per turn', boundaries: sc.PER_TURN_COUNT_BUCKETS });
  const turnLlm = hist.histogram(sc.METRIC_TURN_LLM_CALLS, { unit: '{call}', description: 'LLM calls per turn', boundaries: sc.PER_TURN_COUNT_BUCKETS });
  const toolCalls = meter.createCounter(sc.METRIC_TOOL_CALLS, { unit: '{call}', description: 'Tool calls by tool and outcome' });
  const ingested = meter.createCounter(sc.METRIC_EVENTS_INGESTED, { unit: '{event}', description: 'Events appended to the log' });
  const deduped = meter.createCounter(sc.METRIC_EVENTS_DEDUPED, { unit: '{event}', description: 'Duplicate events dropped (same id)' });
  const dead = meter.createCounter(sc.METRIC_EVENTS_DEAD_LETTERED, { unit: '{event}', description: 'Inputs sent to dead letters, by reason' });
  const unpriced = meter.createCounter(sc.METRIC_UNPRICED, { unit: '{call}', description: 'LLM calls whose model has no price (cost counted as 0)' });
  const alerts = meter.createCounter(sc.METRIC_BUDGET_ALERTS, { unit: '{alert}', description: 'Budget alerts emitted, by rule, level and status' });
  const firing = meter.createUpDownCounter(sc.METRIC_BUDGET_FIRING, { unit: '{alert}', description: 'Budget rule keys currently over a threshold' });
  const lag = meter.createObservableGauge(sc.METRIC_CONSUMER_LAG, { unit: '{event}', description: 'Events in the log not yet processed' });
  const valuesFolded = meter.createCounter(sc.METRIC_LABEL_VALUES_FOLDED, {
    unit: '{recording}',
    description: 'Recordings whose producer-chosen label value was folded into "other" (per-label cap reached)',
  });
  const setsFolded = meter.createCounter(sc.METRIC_LABEL_SETS_FOLDED, {
    unit: '{recording}',
    description: 'Recordings whose label combination was folded into "other" (per-family cap reached)',
  });

  // Series that exist from the start at 0, so that the first rejection after a start shows up in
  // rate()/increase() (Prometheus takes a new series' first sample as its baseline).
  for (const source of ['http', 'pipeline']) {
    deduped.add(0, { [sc.ATTR_SOURCE]: source });
    for (const reason of REJECT_REASONS) dead.add(0, { [sc.ATTR_REASON]: reason, [sc.ATTR_SOURCE]: source });
  }
  for (const label of CAPPED_LABELS) valuesFolded.add(0, { [sc.ATTR_LABEL]: label });
  for (const family of LABEL_SET_FAMILIES) setsFolded.add(0, { [sc.ATTR_LABEL_SET]: family });

  const modelKey = (m: { provider: string; model: string }): string => `${m.provider}\u0000${m.model}`;

  // Counter additions are summed per (instrument, label set) and handed to the SDK once per batch:
  // the SDK hashes the attributes of every call, which dominated metric cost at ~25 calls a turn.
  const pending = new Map<string, { counter: Counter; attrs: Attributes; value: number }>();
  /** Adds under the pending key `k` (`<name>\u0001<label key>`). */
  const addAt = (counter: Counter, k: string, value: number, attrs: () => Attributes): void => {
    const entry = pending.get(k);
    if (entry !== undefined) entry.value += value;
    else pending.set(k, { counter, attrs: attrs(), value });
  };
  const add = (counter: Counter, name: string, key: string, value: number, attrs: () => Attributes): void =>
    addAt(counter, `${name}\u0001${key}`, value, attrs);

  // Folding happens before the pending key is built, so folded recordings sum into one entry.
  // Folded counts go through `add` too: one SDK call per label per batch, not per recording.
  const cap = createLabelValueCap({
    ...(options.maxLabelValues === undefined ? {} : { maxValuesPerLabel: options.maxLabelValues }),
    ...(options.maxLabelSets === undefined ? {} : { maxLabelSets: options.maxLabelSets }),
    onValueFolded: (label) => add(valuesFolded, 'vfold', label, 1, () => ({ [sc.ATTR_LABEL]: label })),
    onLabelSetFolded: (family) => add(setsFolded, 'sfold', family, 1, () => ({ [sc.ATTR_LABEL_SET]: family })),
  });
  const foldProvider = cap.values(sc.ATTR_GEN_AI_PROVIDER_NAME);
  const foldModel = cap.values(sc.ATTR_GEN_AI_REQUEST_MODEL);
  const foldAgent = cap.values(sc.ATTR_GEN_AI_AGENT_NAME);
  const foldTool = cap.values(sc.ATTR_GEN_AI_TOOL_NAME);
  const foldStop = cap.values(sc.ATTR_TURN_STOP_REASON);
  const admitModel = cap.labelSets(sc.LABEL_SET_MODEL);
  const admitTool = cap.labelSets(sc.LABEL_SET_TOOL);
  const admitTurn = cap.labelSets(sc.LABEL_SET_TURN);
  const admitUnpriced = cap.labelSets(sc.LABEL_SET_UNPRICED);
  const maxHistogramSets = options.maxHistogramLabelSets ?? DEFAULT_MAX_HISTOGRAM_LABEL_SETS;
  const admitModelHistogram = cap.labelSets(sc.LABEL_SET_MODEL_HISTOGRAM, maxHistogramSets);
  const admitAgentHistogram = cap.labelSets(sc.LABEL_SET_AGENT_HISTOGRAM, maxHistogramSets);
  const OTHER = sc.LABEL_VALUE_OTHER;
  const OTHER_MODEL_LABELS = modelLabelSet(OTHER, OTHER, OTHER, OTHER_MODEL_KEY);

  // Label combinations admitted for good, with their keys and attributes: an admitted value or
  // combination stays admitted, so a later recording would fold nothing and call back nothing; it
  // reuses what the first one made instead of a key string, a labels object and attribute
  // closures per call. Folded recordings take the full path every time (each one is counted).
  const admittedModels = new LabelCache<ModelLabels>();
  const admittedTools = new LabelCache<ToolLabels>();

  /** Provider, model and agent as labels: each value capped, then the combination. */
  const modelLabels = (provider: string, model: string, agent: string): ModelLabels => {
    const kept = admittedModels.get(provider, model, agent);
    if (kept !== undefined) return kept;
    const p = foldProvider(provider);
    const m = foldModel(model);
    const key = `${p}\u0000${m}\u0000${agent}`;
    if (!admitModel(key)) return OTHER_MODEL_LABELS;
    const l = modelLabelSet(p, m, agent, key);
    if (p === provider && m === model) admittedModels.set(provider, model, agent, l);
    return l;
  };

  /** A tool call's labels (tool and agent capped, then the pair), as `modelLabels`. */
  const toolLabels = (toolName: string, agent: string): ToolLabels => {
    const kept = admittedTools.get(toolName, agent);
    if (kept !== undefined) return kept;
    const tool = foldTool(toolName);
    const admitted = admitTool(`${tool}\u0000${agent}`);
    const l = admitted ? toolLabelSet(tool, agent) : toolLabelSet(OTHER, OTHER);
    if (admitted && tool === toolName) admittedTools.set(toolName, agent, '', l);
    return l;
  };

  const recordModelDelta = (m: ModelBreakdown, before: ModelBreakdown | undefined, agent: string): void => {
    const l = modelLabels(m.provider, m.model, agent);
    const dc = m.cost - (before?.cost ?? 0);
    if (dc > 0) addAt(cost, l.costKey, dc, l.costAttrs);
    for (const t of TOKEN_TYPES) {
      const d = m[t] - (before?.[t] ?? 0);
      if (d > 0) addAt(tokens, l.tokenKeys[t], d, l.tokenAttrs[t]);
    }
  };

  return {
    recordTurn(a) {
      const agent = foldAgent(a.agent ?? 'unknown');
      const prev = a.supersedes;
      const prevModels = prev === undefined ? undefined : new Map(prev.models.map((m) => [modelKey(m), m]));
      for (const m of a.models) recordModelDelta(m, prevModels?.get(modelKey(m)), agent);

      const seenCalls = prev === undefined ? undefined : new Set(prev.llm.map((c) => c.eventId));
      for (const c of a.llm) {
        if (seenCalls?.has(c.eventId) === true) continue;
        let l = modelLabels(c.provider, c.model, agent);
        if (!l.histogramAdmitted) {
          if (admitModelHistogram(l.key)) l.histogramAdmitted = true;
          else l = OTHER_MODEL_LABELS;
        }
        tokenUsage.record(otelInputTokens(c), l.inputKey, l.inputAttrs);
        tokenUsage.record(c.outputTokens, l.outputKey, l.outputAttrs);
        if (c.endMs > c.startMs) opDuration.record((c.endMs - c.startMs) / 1000, l.key, l.callAttrs);
      }
      const seenTools = prev === undefined ? undefined : new Set(prev.tools.map((t) => t.toolCallId));
      for (const t of a.tools) {
        if (seenTools?.has(t.toolCallId) === true) continue;
        const l = toolLabels(t.toolName, agent);
        if (t.error === undefined) addAt(toolCalls, l.okKey, 1, l.okAttrs);
        else addAt(toolCalls, l.errorKey, 1, l.errorAttrs);
      }
      if (a.revision > 0) {
        add(revisions, 'revision', agent, 1, () => ({ [sc.ATTR_GEN_AI_AGENT_NAME]: agent }));
        return;
      }
      const histAgent = agent === OTHER || admitAgentHistogram(agent) ? agent : OTHER;
      const turnKey = `${histAgent}\u0000${a.status}`;
      const turnAttrs = (): Attributes => ({ [sc.ATTR_GEN_AI_AGENT_NAME]: histAgent, [sc.ATTR_TURN_STATUS]: a.status });
      let stop = foldStop(a.stopReason ?? 'none');
      let turnAgent = agent;
      if (!admitTurn(`${agent}\u0000${stop}`)) stop = turnAgent = OTHER;
      add(turns, 'turn', `${turnAgent}\u0000${a.status}\u0000${stop}`, 1, () => ({
        [sc.ATTR_GEN_AI_AGENT_NAME]: turnAgent,
        [sc.ATTR_TURN_STATUS]: a.status,
        [sc.ATTR_TURN_STOP_REASON]: stop,
      }));
      // Per-turn histograms keep fewer agents than counters (see DEFAULT_MAX_HISTOGRAM_LABEL_SETS).
      turnDuration.record(a.durationMs / 1000, turnKey, turnAttrs);
      turnTools.record(a.toolCalls, turnKey, turnAttrs);
      turnLlm.record(a.llmCalls, turnKey, turnAttrs);
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
      let p = foldProvider(provider);
      let m = foldModel(model);
      if (!admitUnpriced(`${p}\u0000${m}`)) p = m = OTHER;
      unpriced.add(1, { [sc.ATTR_GEN_AI_PROVIDER_NAME]: p, [sc.ATTR_GEN_AI_REQUEST_MODEL]: m });
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

type TokenType = (typeof TOKEN_TYPES)[number];
const OTHER_MODEL_KEY = `${sc.LABEL_VALUE_OTHER}\u0000${sc.LABEL_VALUE_OTHER}\u0000${sc.LABEL_VALUE_OTHER}`;

/** Provider, model and agent as labels, with the counter and histogram keys and attributes of their recordings. */
interface ModelLabels {
  readonly provider: string;
  readonly model: string;
  readonly agent: string;
  readonly key: string;
  /** The model × agent histogram family admitted the combination (once true, for good); the all-`other` one is never asked. */
  histogramAdmitted: boolean;
  readonly costKey: string;
  readonly costAttrs: () => Attributes;
  readonly tokenKeys: Readonly<Record<TokenType, string>>;
  readonly tokenAttrs: Readonly<Record<TokenType, () => Attributes>>;
  readonly inputKey: string;
  readonly inputAttrs: () => Attributes;
  readonly outputKey: string;
  readonly outputAttrs: () => Attributes;
  readonly callAttrs: () => Attributes;
}

function modelLabelSet(provider: string, model: string, agent: string, key: string): ModelLabels {
  const labels = { [sc.ATTR_GEN_AI_PROVIDER_NAME]: provider, [sc.ATTR_GEN_AI_REQUEST_MODEL]: model, [sc.ATTR_GEN_AI_AGENT_NAME]: agent };
  const call = { [sc.ATTR_GEN_AI_OPERATION_NAME]: sc.GEN_AI_OPERATION_CHAT, ...labels };
  const tokenKeys = {} as Record<TokenType, string>;
  const tokenAttrs = {} as Record<TokenType, () => Attributes>;
  for (const t of TOKEN_TYPES) {
    tokenKeys[t] = `${t}\u0001${key}`;
    tokenAttrs[t] = () => ({ ...labels, [sc.ATTR_TOKEN_TYPE]: TOKEN_TYPE_LABEL[t] });
  }
  return {
    provider,
    model,
    agent,
    key,
    histogramAdmitted: key === OTHER_MODEL_KEY,
    costKey: `cost\u0001${key}`,
    costAttrs: () => ({ ...labels }),
    tokenKeys,
    tokenAttrs,
    inputKey: `${key}\u0000input`,
    inputAttrs: () => ({ ...call, [sc.ATTR_GEN_AI_TOKEN_TYPE]: sc.GEN_AI_TOKEN_TYPE_INPUT }),
    outputKey: `${key}\u0000output`,
    outputAttrs: () => ({ ...call, [sc.ATTR_GEN_AI_TOKEN_TYPE]: sc.GEN_AI_TOKEN_TYPE_OUTPUT }),
    callAttrs: () => ({ ...call }),
  };
}

/** A tool and agent as labels, with the counter keys and attributes of an ok and an error call. */
interface ToolLabels {
  readonly okKey: string;
  readonly okAttrs: () => Attributes;
  readonly errorKey: string;
  readonly errorAttrs: () => Attributes;
}

function toolLabelSet(tool: string, agent: string): ToolLabels {
  const attrs = (outcome: string) => (): Attributes => ({
    [sc.ATTR_GEN_AI_TOOL_NAME]: tool,
    [sc.ATTR_TOOL_OUTCOME]: outcome,
    [sc.ATTR_GEN_AI_AGENT_NAME]: agent,
  });
  return {
    okKey: `tool\u0001${tool}\u0000ok\u0000${agent}`,
    okAttrs: attrs('ok'),
    errorKey: `tool\u0001${tool}\u0000error\u0000${agent}`,
    errorAttrs: attrs('error'),
  };
}
