import { SpanKind, SpanStatusCode, TraceFlags, type Attributes, type HrTime, type SpanContext } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { otelInputTokens } from '../events/token-convention.ts';
import type { TurnAggregate } from '../model/turn-aggregate.ts';
import { deterministicIds } from './deterministic-ids.ts';
import * as sc from './semconv.ts';

export interface TurnSpanContext {
  readonly resource: Resource;
  readonly scope: InstrumentationScope;
}

const hr = (ms: number): HrTime => {
  const s = Math.floor(ms / 1000);
  return [s, Math.round((ms - s * 1000) * 1e6)];
};

function span(
  ctx: TurnSpanContext,
  name: string,
  kind: SpanKind,
  context: SpanContext,
  parent: SpanContext | undefined,
  startMs: number,
  endMs: number,
  attributes: Attributes,
  error?: string,
): ReadableSpan {
  const end = Math.max(startMs, endMs);
  return {
    name,
    kind,
    spanContext: () => context,
    ...(parent === undefined ? {} : { parentSpanContext: parent }),
    startTime: hr(startMs),
    endTime: hr(end),
    duration: hr(end - startMs),
    status: error === undefined ? { code: SpanStatusCode.UNSET } : { code: SpanStatusCode.ERROR, message: error },
    attributes,
    links: [],
    events: [],
    ended: true,
    resource: ctx.resource,
    instrumentationScope: ctx.scope,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

/**
 * One trace per turn: an `invoke_agent {agent}` root over the turn window, a `chat {model}` child per
 * LLM call and an `execute_tool {tool}` child per tool call, with event-time start/end and ids
 * derived from session, turn and event ids. Built as finished span records (no Tracer, no context
 * propagation: the turn is already over), ready for any SDK `SpanProcessor`/`SpanExporter`.
 * Only counts, names, tokens, cost and timings are exported; never prompts or tool inputs.
 */
export function buildTurnSpans(a: TurnAggregate, ctx: TurnSpanContext): ReadableSpan[] {
  const traceId = deterministicIds.traceId(a.session, a.turn);
  const root: SpanContext = { traceId, spanId: deterministicIds.turnSpanId(a.session, a.turn), traceFlags: TraceFlags.SAMPLED };
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
    [sc.ATTR_GEN_AI_USAGE_INPUT_TOKENS]: otelInputTokens(a),
    [sc.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]: a.outputTokens,
    [sc.ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS]: a.cacheReadTokens,
    [sc.ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS]: a.cacheWriteTokens,
    [sc.ATTR_GEN_AI_USAGE_COST]: a.cost,
  };
  if (a.stopReason !== undefined) rootAttrs[sc.ATTR_TURN_STOP_REASON] = a.stopReason;
  const spans = [span(ctx, `invoke_agent ${agent}`, SpanKind.INTERNAL, root, undefined, a.startMs, a.endMs, rootAttrs)];

  for (const c of a.llm) {
    const attrs: Attributes = {
      [sc.ATTR_GEN_AI_OPERATION_NAME]: sc.GEN_AI_OPERATION_CHAT,
      [sc.ATTR_GEN_AI_PROVIDER_NAME]: c.provider,
      [sc.ATTR_GEN_AI_REQUEST_MODEL]: c.model,
      [sc.ATTR_GEN_AI_CONVERSATION_ID]: a.session,
      [sc.ATTR_GEN_AI_USAGE_INPUT_TOKENS]: otelInputTokens(c),
      [sc.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]: c.outputTokens,
      [sc.ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS]: c.cacheReadTokens,
      [sc.ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS]: c.cacheWriteTokens,
      [sc.ATTR_GEN_AI_USAGE_COST]: c.cost,
      [sc.ATTR_COST_SOURCE]: c.costSource,
    };
    if (c.reasoningTokens > 0) attrs[sc.ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = c.reasoningTokens;
    if (c.finishReason !== undefined) attrs[sc.ATTR_GEN_AI_RESPONSE_FINISH_REASONS] = [c.finishReason];
    const id = { traceId, spanId: deterministicIds.llmSpanId(a.session, c.eventId), traceFlags: TraceFlags.SAMPLED };
    spans.push(span(ctx, `chat ${c.model}`, SpanKind.CLIENT, id, root, c.startMs, c.endMs, attrs));
  }

  for (const t of a.tools) {
    const attrs: Attributes = {
      [sc.ATTR_GEN_AI_OPERATION_NAME]: sc.GEN_AI_OPERATION_EXECUTE_TOOL,
      [sc.ATTR_GEN_AI_TOOL_NAME]: t.toolName,
      [sc.ATTR_GEN_AI_TOOL_CALL_ID]: t.toolCallId,
      [sc.ATTR_GEN_AI_CONVERSATION_ID]: a.session,
    };
    if (t.error !== undefined) attrs[sc.ATTR_ERROR_TYPE] = t.error;
    const id = { traceId, spanId: deterministicIds.toolSpanId(a.session, a.turn, t.toolCallId), traceFlags: TraceFlags.SAMPLED };
    spans.push(span(ctx, `execute_tool ${t.toolName}`, SpanKind.INTERNAL, id, root, t.startMs, t.endMs ?? a.endMs, attrs, t.error));
  }
  return spans;
}
