/**
 * The span worker's thread (started by `SpanWorker`): turns its spans and sends them over OTLP, on
 * the other core, off the processing thread. For OTLP/HTTP protobuf (the default) the spans are
 * encoded straight from the turn records (`OtlpTurnEncoder`: the SDK serializer's bytes, about 3×
 * less CPU than building SDK spans and serialising them) and batched by `EncodedSpanQueue`; for
 * http/json the SDK builds and sends them (`buildTurnSpans`, BatchSpanProcessor). Same ids either way.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace';
import { unpackSpanTurns, type PackedSpanTurns, type SpanTurn } from './span-turn.ts';
import { EncodedSpanQueue } from './encoded-span-queue.ts';
import { otlpConcurrencyLimit, otlpTraceExporter, type OtlpTarget } from './otlp-from-env.ts';
import { otlpProtoSpanTransport } from './otlp-proto-span-transport.ts';
import { OtlpTurnEncoder } from './otlp-turn-encoder.ts';
import { OTLP_SPAN_BATCHING, telemetryIdentity } from './telemetry-identity.ts';
import { buildTurnSpans } from './turn-spans.ts';

export interface SpanWorkerData {
  readonly target: OtlpTarget;
  /** `service.name`, resolved in the main thread (`serviceNameOf`). */
  readonly serviceName: string;
  readonly version: string;
}

/** `turns`: one processor batch's closed turns, packed (`packSpanTurns`). */
export type ToSpanWorker = { readonly kind: 'turns'; readonly turns: PackedSpanTurns } | { readonly kind: 'flush' | 'shutdown'; readonly id: number };

export type FromSpanWorker =
  | { readonly kind: 'done'; readonly id: number; readonly error?: string }
  /** Spans lost since the last report: a full queue, failed exports (after the transport's retries). */
  | { readonly kind: 'lost'; readonly dropped: number; readonly failed: number; readonly error?: string };

interface SpanOutlet {
  add(turns: readonly SpanTurn[]): void;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** At most one `lost` report per interval (a collector that is down fails every batch). */
const REPORT_EVERY_MS = 5000;
/** Spans encoded together at most (a queue entry), but for one turn with more (a turn is never split). */
const SPANS_PER_ENTRY = 512;

/**
 * `turns` in parts of at most `SPANS_PER_ENTRY` spans (a turn's: its root, LLM calls and tools).
 * The queue sends and drops whole entries: one entry for a whole batch of turns (a pump batch
 * of thousands of turns, tens of thousands of spans) went as one request of tens of MB, more than
 * collectors take, and was dropped whole when the queue could not fit it.
 */
export function* entries<T extends { readonly llm: readonly unknown[]; readonly tools: readonly unknown[] }>(turns: readonly T[]): Generator<T[]> {
  let part: T[] = [];
  let spans = 0;
  for (const t of turns) {
    const n = 1 + t.llm.length + t.tools.length;
    if (part.length > 0 && spans + n > SPANS_PER_ENTRY) {
      yield part;
      part = [];
      spans = 0;
    }
    part.push(t);
    spans += n;
  }
  if (part.length > 0) yield part;
}

function encodedOutlet(data: SpanWorkerData, report: (m: FromSpanWorker) => void): SpanOutlet {
  const encoder = new OtlpTurnEncoder({ serviceName: data.serviceName, version: data.version });
  const transport = otlpProtoSpanTransport(data.target, encoder, otlpConcurrencyLimit);
  let lost = { dropped: 0, failed: 0, error: undefined as string | undefined };
  let last = 0;
  const flushReport = (now: boolean): void => {
    if (lost.dropped + lost.failed === 0 || (!now && Date.now() - last < REPORT_EVERY_MS)) return;
    report({ kind: 'lost', dropped: lost.dropped, failed: lost.failed, ...(lost.error === undefined ? {} : { error: lost.error }) });
    lost = { dropped: 0, failed: 0, error: undefined };
    last = Date.now();
  };
  const queue = new EncodedSpanQueue({
    ...OTLP_SPAN_BATCHING,
    send: (batch, spans) => transport.send(batch, spans),
    onDropped: (spans) => {
      lost.dropped += spans;
      flushReport(false);
    },
    onError: (error, spans) => {
      lost.failed += spans;
      lost.error = String((error as Error)?.message ?? error);
      flushReport(false);
    },
  });
  return {
    add: (turns) => {
      for (const part of entries(turns)) queue.add(encoder.encode(part));
    },
    forceFlush: async () => {
      await queue.forceFlush();
      flushReport(true);
    },
    shutdown: async () => {
      await queue.forceFlush();
      flushReport(true);
      await transport.shutdown();
    },
  };
}

async function sdkOutlet(data: SpanWorkerData): Promise<SpanOutlet> {
  const processor = new BatchSpanProcessor({ exporter: await otlpTraceExporter(data.target), ...OTLP_SPAN_BATCHING });
  const ctx = telemetryIdentity(data.serviceName, data.version);
  return {
    add: (turns) => {
      for (const a of turns) for (const s of buildTurnSpans(a, ctx)) processor.onEnd(s);
    },
    forceFlush: () => processor.forceFlush(),
    shutdown: () => processor.shutdown(),
  };
}

if (parentPort !== null) {
  const port = parentPort;
  const data = workerData as SpanWorkerData;
  const report = (m: FromSpanWorker): void => port.postMessage(m);
  const outlet = data.target.protocol === 'http/protobuf' ? encodedOutlet(data, report) : await sdkOutlet(data);
  const answer = (id: number, work: Promise<void>): void => {
    work.then(
      () => report({ kind: 'done', id }),
      (error: unknown) => report({ kind: 'done', id, error: String((error as Error)?.message ?? error) }),
    );
  };
  port.on('message', (m: ToSpanWorker) => {
    if (m.kind === 'turns') outlet.add(unpackSpanTurns(m.turns));
    else answer(m.id, m.kind === 'flush' ? outlet.forceFlush() : outlet.shutdown());
  });
}
