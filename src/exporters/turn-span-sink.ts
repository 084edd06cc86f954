import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import type { TurnAggregate } from '../model/turn-aggregate.ts';
import { buildTurnSpans, type TurnSpanContext } from './turn-spans.ts';

/**
 * Where the processor sends the turns whose spans are exported. Whoever implements it builds the
 * spans with `buildTurnSpans` (same trace and span ids wherever that runs): in this thread
 * (`spansInThread`, for an injected exporter) or in a worker thread (`SpanWorker`, for OTLP).
 */
export interface TurnSpanSink {
  /** Queues the spans of these turns (one processor batch). Never throws, never blocks on the network. */
  send(turns: readonly TurnAggregate[]): void;
  /** Resolves once every span queued so far was handed to its exporter (and the exporter answered). */
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** Builds the spans here and hands them to `processor` (a BatchSpanProcessor). */
export function spansInThread(processor: SpanProcessor, ctx: TurnSpanContext): TurnSpanSink {
  return {
    send: (turns) => {
      for (const a of turns) for (const s of buildTurnSpans(a, ctx)) processor.onEnd(s);
    },
    forceFlush: () => processor.forceFlush(),
    shutdown: () => processor.shutdown(),
  };
}

/** Several sinks as one (an injected test exporter beside OTLP). */
export function allSinks(sinks: readonly TurnSpanSink[]): TurnSpanSink | undefined {
  if (sinks.length <= 1) return sinks[0];
  return {
    send: (turns) => {
      for (const s of sinks) s.send(turns);
    },
    forceFlush: async () => {
      await Promise.all(sinks.map((s) => s.forceFlush()));
    },
    shutdown: async () => {
      await Promise.all(sinks.map((s) => s.shutdown()));
    },
  };
}
