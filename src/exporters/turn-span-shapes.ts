import { SpanKind, type Attributes } from '@opentelemetry/api';
import { otelInputTokens } from '../events/token-convention.ts';
import type { TokenUsage } from '../model/token-usage.ts';
import type { SpanTurn } from './span-turn.ts';
import * as sc from './semconv.ts';

/**
 * One span of a turn's trace, before it takes a form: the SDK's `ReadableSpan` (`buildTurnSpans`)
 * or OTLP protobuf bytes (`OtlpTurnEncoder`). Both read these shapes, so both carry the same
 * names, attributes, times and ids.
 */
export interface TurnSpanShape {
  readonly name: string;
  readonly kind: SpanKind;
  /** Which id the span gets: the turn's root, an LLM call's (`ref` = event id) or a tool call's (`ref` = call id). */
  readonly idKind: 'turn' | 'llm' | 'tool';
  readonly ref: string;
  readonly startMs: number;
  /** Never before `startMs`. */
  readonly endMs: number;
  readonly attributes: Attributes;
  /** Set for a failed tool call: the span's status is ERROR with this message. */
  readonly error?: string;
}

/** A set of id functions (`deterministicIds` gives hex strings, `deterministicIdBytes` raw bytes). */
export interface SpanIds<T> {
  traceId(session: string, turn: string): T;
  turnSpanId(session: string, turn: string): T;
  llmSpanId(session: string, eventId: string): T;
  toolSpanId(session: string, turn: string, toolCallId: string): T;
}

/** The span id of one shape of turn `a`, in the form `ids` gives. */
export function spanIdOf<T>(ids: SpanIds<T>, a: SpanTurn, s: TurnSpanShape): T {
  if (s.idKind === 'turn') return ids.turnSpanId(a.session, a.turn);
  return s.idKind === 'llm' ? ids.llmSpanId(a.session, s.ref) : ids.toolSpanId(a.session, a.turn, s.ref);
}

const shape = (
  name: string,
  kind: SpanKind,
  idKind: TurnSpanShape['idKind'],
  ref: string,
  startMs: number,
  endMs: number,
  attributes: Attributes,
  error?: string,
): TurnSpanShape => ({
  name,
  kind,
  idKind,
  ref,
  startMs,
  endMs: Math.max(startMs, endMs),
  attributes,
  ...(error === undefined ? {} : { error }),
});

/** Tokens and cost, as a turn's root and each `chat` span carry them (in this order). */
const usageAttrs = (u: Pick<TokenUsage, 'inputTokens' | 'outputTokens' | 'cacheReadTokens' | 'cacheWriteTokens' | 'cost'>): Attributes => ({
  [sc.ATTR_GEN_AI_USAGE_INPUT_TOKENS]: otelInputTokens(u),
  [sc.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]: u.outputTokens,
  [sc.ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS]: u.cacheReadTokens,
  [sc.ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS]: u.cacheWriteTokens,
  [sc.ATTR_GEN_AI_USAGE_COST]: u.cost,
});

/**
 * One trace per turn: an `invoke_agent {agent}` root over the turn window, a `chat {model}` child per
 * LLM call and an `execute_tool {tool}` child per tool call, with event-time start/end. The root
 * comes first. Only counts, names, tokens, cost and timings are exported; never prompts or tool inputs.
 */
export function turnSpanShapes(a: SpanTurn): TurnSpanShape[] {
  const agent = a.agent ?? 'agent';
  const rootAttrs: Attributes = {
    [sc.ATTR_GEN_AI_OPERATION_NAME]: sc.GEN_AI_OPERATION_INVOKE_AGENT,
    [sc.ATTR_GEN_AI_AGENT_NAME]: agent,
    [sc.ATTR_GEN_AI_CONVERSATION_ID]: a.session,
    [sc.ATTR_SESSION_ID]: a.session,
    [sc.ATTR_TURN_ID]: a.turn,
    [sc.ATTR_TURN_STATUS]: a.status,
    [sc.ATTR_TURN_REVISION]: a.revision,
    [sc.ATTR_TURN_TOOL_CALLS]: a.toolCalls,
    [sc.ATTR_TURN_LLM_CALLS]: a.llmCalls,
    ...usageAttrs(a),
  };
  if (a.stopReason !== undefined) rootAttrs[sc.ATTR_TURN_STOP_REASON] = a.stopReason;
  const spans = [shape(`invoke_agent ${agent}`, SpanKind.INTERNAL, 'turn', a.turn, a.startMs, a.endMs, rootAttrs)];

  for (const c of a.llm) {
    const attrs: Attributes = {
      [sc.ATTR_GEN_AI_OPERATION_NAME]: sc.GEN_AI_OPERATION_CHAT,
      [sc.ATTR_GEN_AI_PROVIDER_NAME]: c.provider,
      [sc.ATTR_GEN_AI_REQUEST_MODEL]: c.model,
      [sc.ATTR_GEN_AI_CONVERSATION_ID]: a.session,
      ...usageAttrs(c),
      [sc.ATTR_COST_SOURCE]: c.costSource,
    };
    if (c.reasoningTokens > 0) attrs[sc.ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = c.reasoningTokens;
    if (c.finishReason !== undefined) attrs[sc.ATTR_GEN_AI_RESPONSE_FINISH_REASONS] = [c.finishReason];
    spans.push(shape(`chat ${c.model}`, SpanKind.CLIENT, 'llm', c.eventId, c.startMs, c.endMs, attrs));
  }

  for (const t of a.tools) {
    const attrs: Attributes = {
      [sc.ATTR_GEN_AI_OPERATION_NAME]: sc.GEN_AI_OPERATION_EXECUTE_TOOL,
      [sc.ATTR_GEN_AI_TOOL_NAME]: t.toolName,
      [sc.ATTR_GEN_AI_TOOL_CALL_ID]: t.toolCallId,
      [sc.ATTR_GEN_AI_CONVERSATION_ID]: a.session,
    };
    if (t.error !== undefined) attrs[sc.ATTR_ERROR_TYPE] = t.error;
    spans.push(shape(`execute_tool ${t.toolName}`, SpanKind.INTERNAL, 'tool', t.toolCallId, t.startMs, t.endMs ?? a.endMs, attrs, t.error));
  }
  return spans;
}
