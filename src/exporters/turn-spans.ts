import { SpanStatusCode, TraceFlags, type HrTime, type SpanContext } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import type { SpanTurn } from './span-turn.ts';
import { deterministicIds } from './deterministic-ids.ts';
import { spanIdOf, turnSpanShapes, type TurnSpanShape } from './turn-span-shapes.ts';

export interface TurnSpanContext {
  readonly resource: Resource;
  readonly scope: InstrumentationScope;
}

/** Epoch ms as the SDK's [seconds, nanoseconds] (the OTLP encoder converts the same way). */
export const hrTimeOfMs = (ms: number): HrTime => {
  const s = Math.floor(ms / 1000);
  return [s, Math.round((ms - s * 1000) * 1e6)];
};

function span(ctx: TurnSpanContext, s: TurnSpanShape, context: SpanContext, parent: SpanContext | undefined): ReadableSpan {
  return {
    name: s.name,
    kind: s.kind,
    spanContext: () => context,
    ...(parent === undefined ? {} : { parentSpanContext: parent }),
    startTime: hrTimeOfMs(s.startMs),
    endTime: hrTimeOfMs(s.endMs),
    duration: hrTimeOfMs(s.endMs - s.startMs),
    status: s.error === undefined ? { code: SpanStatusCode.UNSET } : { code: SpanStatusCode.ERROR, message: s.error },
    attributes: s.attributes,
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
 * A turn's spans (`turnSpanShapes`) as finished SDK span records, with ids derived from session,
 * turn and event ids (no Tracer, no context propagation: the turn is already over), ready for any
 * SDK `SpanProcessor`/`SpanExporter`. The OTLP protobuf path encodes the same shapes directly
 * (`OtlpTurnEncoder`).
 */
export function buildTurnSpans(a: SpanTurn, ctx: TurnSpanContext): ReadableSpan[] {
  const traceId = deterministicIds.traceId(a.session, a.turn);
  const shapes = turnSpanShapes(a);
  let root: SpanContext | undefined;
  return shapes.map((s) => {
    const context: SpanContext = { traceId, spanId: spanIdOf(deterministicIds, a, s), traceFlags: TraceFlags.SAMPLED };
    const parent = root;
    root ??= context;
    return span(ctx, s, context, parent);
  });
}
