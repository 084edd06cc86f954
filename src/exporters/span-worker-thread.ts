/**
 * The span worker's thread (started by `SpanWorker`): builds each turn's spans with the same
 * `buildTurnSpans` as the main thread would (same ids) and exports them over OTLP through the SDK's
 * BatchSpanProcessor (its batching, queue limit and retry). Span building, protobuf/JSON
 * serialisation and the HTTP requests run here, on the other core, off the processing thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace';
import type { TurnAggregate } from '../model/turn-aggregate.ts';
import { otlpTraceExporter, type OtlpTarget } from './otlp-from-env.ts';
import { OTLP_SPAN_BATCHING, telemetryIdentity } from './telemetry-identity.ts';
import { buildTurnSpans } from './turn-spans.ts';

export interface SpanWorkerData {
  readonly target: OtlpTarget;
  /** `service.name`, resolved in the main thread (`serviceNameOf`). */
  readonly serviceName: string;
  readonly version: string;
}

export type ToSpanWorker = { readonly kind: 'turns'; readonly turns: readonly TurnAggregate[] } | { readonly kind: 'flush' | 'shutdown'; readonly id: number };

export type FromSpanWorker = { readonly kind: 'done'; readonly id: number; readonly error?: string };

if (parentPort !== null) {
  const port = parentPort;
  const data = workerData as SpanWorkerData;
  const processor = new BatchSpanProcessor({ exporter: await otlpTraceExporter(data.target), ...OTLP_SPAN_BATCHING });
  const ctx = telemetryIdentity(data.serviceName, data.version);
  const answer = (id: number, work: Promise<void>): void => {
    work.then(
      () => port.postMessage({ kind: 'done', id } satisfies FromSpanWorker),
      (error: unknown) => port.postMessage({ kind: 'done', id, error: String((error as Error)?.message ?? error) } satisfies FromSpanWorker),
    );
  };
  port.on('message', (m: ToSpanWorker) => {
    if (m.kind === 'turns') {
      for (const a of m.turns) for (const s of buildTurnSpans(a, ctx)) processor.onEnd(s);
    } else if (m.kind === 'flush') {
      answer(m.id, processor.forceFlush());
    } else {
      answer(m.id, processor.shutdown());
    }
  });
}
