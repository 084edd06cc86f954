import { OtlpTurnEncoder } from '../src/exporters/otlp-turn-encoder.ts';
import { SpanWorker } from '../src/exporters/span-worker.ts';
import { decodeEvent, DEFAULT_DECODE_LIMITS } from '../src/events/decode-event.ts';
import type { PriceTable } from '../src/events/price-table.ts';
import { buildTurnSpans, type TurnSpanContext } from '../src/exporters/turn-spans.ts';
import { createLogger } from '../src/logger.ts';
import { openEmbeddedPipeline, type EmbeddedPipeline } from '../src/pipeline/open-embedded-pipeline.ts';
import { Ingestor } from '../src/pipeline/ingestor.ts';
import { openEmbeddedStore } from '../src/state/open-embedded-store.ts';
import type { TurnAggregate } from '../src/model/turn-aggregate.ts';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { benchTelemetry, type TelemetryMode } from './counting-span-exporter.ts';
import { startOtlpSink } from './otlp-sink.ts';
import { batches, secondsSince, tempDataDir, yieldToEventLoop, type Sample } from './measure.ts';
import { mainThreadGc } from './gc-pauses.ts';
import { cpuSince, threadCpu } from './thread-cpu.ts';

// warn unless TURNSTREAM_LOG_LEVEL says otherwise (info: the rebuild's per-shard timings, among others).
export const benchLogger = createLogger({ namespace: 'bench', ...(process.env['TURNSTREAM_LOG_LEVEL'] === undefined ? { level: 'warn' } : {}) });

/** Decode + validate only (JSON.parse, schema validation, time normalisation), in ingest-sized batches. */
export function runDecodeOnly(lines: readonly string[], batchSize: number): Sample {
  const start = process.hrtime.bigint();
  let ok = 0;
  for (const batch of batches(lines, batchSize)) {
    const now = Date.now();
    for (const line of batch) if (decodeEvent(line, now, DEFAULT_DECODE_LIMITS).ok) ok++;
  }
  const seconds = secondsSince(start);
  if (ok !== lines.length) throw new Error(`decode rejected ${lines.length - ok} of ${lines.length} workload lines`);
  return { seconds, count: lines.length };
}

/** Decode + validate + durable append to SQLite through the `Ingestor`; no processing. */
export async function runDecodeAppend(lines: readonly string[], batchSize: number): Promise<Sample> {
  const data = tempDataDir();
  const store = openEmbeddedStore({ dataDir: data.dir });
  try {
    const ingestor = new Ingestor({ log: store.log, deadLetters: store.deadLetters });
    const start = process.hrtime.bigint();
    let accepted = 0;
    for (const batch of batches(lines, batchSize)) {
      for (const r of await ingestor.ingest(batch, 'bench')) if (r.status === 'accepted') accepted++;
      await yieldToEventLoop();
    }
    const seconds = secondsSince(start);
    if (accepted !== lines.length) throw new Error(`append accepted ${accepted} of ${lines.length}`);
    return { seconds, count: lines.length };
  } finally {
    store.close();
    data.remove();
  }
}

export interface PipelineRunOptions {
  readonly lines: readonly string[];
  readonly batchSize: number;
  readonly prices: PriceTable;
  readonly telemetry: TelemetryMode;
  /** Keep the data dir (and return it) instead of removing it: for the replay stage. */
  readonly keepDataDir?: boolean;
  /** Concurrent producers, each with one ingest call in flight (default 1). */
  readonly clients?: number;
  /** Append on the log writer thread (the pipeline's default) or in this thread. */
  readonly logWriterThread?: boolean;
  readonly onAggregate?: (a: TurnAggregate) => void;
}

/**
 * The embedded pipeline end to end: `ingest` in batches (yielding to the event loop between
 * requests, like a server), then `pump.idle()` and `telemetry.forceFlush()`. Timed from the first
 * ingest to the flush. Also times, by wrapping this instance's methods, how long decoding, the
 * append (in this thread, or waiting for the append worker) and processing (windows + metrics + span records | state commit) take, and
 * how long the exporter spends serialising, so the split needs no second run. `otherSeconds` is
 * what is left: event-loop turns, timers, GC between requests.
 */
export async function runPipeline(o: PipelineRunOptions): Promise<Sample & { dataDir?: string }> {
  const data = tempDataDir();
  const sink = o.telemetry === 'otlp' || o.telemetry === 'otlp-thread' ? await startOtlpSink() : undefined;
  const { telemetry, exporter } = await benchTelemetry(o.telemetry, sink?.url);
  let aggregates = 0;
  let pipeline: EmbeddedPipeline | undefined;
  try {
    pipeline = await openEmbeddedPipeline({
      dataDir: data.dir,
      prices: o.prices,
      logger: benchLogger,
      ...(telemetry === undefined ? {} : { telemetry }),
      ...(o.logWriterThread === undefined ? {} : { logWriterThread: o.logWriterThread }),
      onAggregate: (a) => {
        aggregates++;
        o.onAggregate?.(a);
      },
    });
    const { ingestor, processor, pump, store } = pipeline;
    // With the log writer thread, `appendSeconds` is how long ingest waited for it (the main thread decodes and processes meanwhile).
    const { logWriter } = pipeline;
    const appender = logWriter ?? store.log;
    let decodeSeconds = 0,
      appendSeconds = 0,
      processSeconds = 0,
      commitSeconds = 0,
      inlineSerializeSeconds = 0;
    const ingest = ingestor.ingest.bind(ingestor);
    // Decoding is timed per input (the private, synchronous step of ingest): with several clients
    // an ingest call's wall time also holds the other clients' work and the processing in between.
    const decode = ingestor['decode'].bind(ingestor);
    ingestor['decode'] = (...args) => {
      const t = process.hrtime.bigint();
      try {
        return decode(...args);
      } finally {
        decodeSeconds += secondsSince(t);
      }
    };
    const process_ = processor.process.bind(processor);
    const append = appender.append.bind(appender);
    const commit = store.state.commit.bind(store.state);
    appender.append = async (batch) => {
      const t = process.hrtime.bigint();
      try {
        return await append(batch);
      } finally {
        appendSeconds += secondsSince(t);
      }
    };
    store.state.commit = async (batch) => {
      const t = process.hrtime.bigint();
      try {
        return await commit(batch);
      } finally {
        commitSeconds += secondsSince(t);
      }
    };
    processor.process = async (batch) => {
      const t = process.hrtime.bigint();
      const s0 = exporter?.serializeSeconds ?? 0;
      try {
        return await process_(batch);
      } finally {
        processSeconds += secondsSince(t);
        inlineSerializeSeconds += (exporter?.serializeSeconds ?? 0) - s0;
      }
    };

    const gc = mainThreadGc();
    const cpu0 = threadCpu();
    const start = process.hrtime.bigint();
    let accepted = 0;
    // `clients` producers share the batches: each sends its next batch once its last one is answered.
    const queue = batches(o.lines, o.batchSize);
    const client = async (): Promise<void> => {
      for (let next = queue.next(); next.done !== true; next = queue.next()) {
        for (const r of await ingest(next.value, 'bench')) if (r.status === 'accepted') accepted++;
        await yieldToEventLoop();
      }
    };
    await Promise.all(Array.from({ length: o.clients ?? 1 }, client));
    await pump.idle();
    await telemetry?.forceFlush();
    const seconds = secondsSince(start);
    const cpu = cpuSince(cpu0);
    const gcPause = gc.stop();
    if (pump.failure !== undefined) throw pump.failure;
    if (accepted !== o.lines.length) throw new Error(`pipeline accepted ${accepted} of ${o.lines.length}`);
    const serializeSeconds = exporter?.serializeSeconds ?? 0;
    // forceFlush waited for the sink's answers: it has every span.
    const sent = await sink?.stop();
    return {
      seconds,
      count: o.lines.length,
      extra: {
        aggregates,
        spans: exporter?.spans ?? 0,
        spanBytes: exporter?.bytes ?? sent?.bytes ?? 0,
        // Dropped by the span thread's full queue or refused: a run that loses spans did less work than it claims.
        spansLost: telemetry?.turnSpans instanceof SpanWorker ? telemetry.turnSpans.lostSpans : 0,
        ...(sent === undefined ? {} : { otlpRequests: sent.requests }),
        decodeSeconds,
        appendSeconds,
        windowsSeconds: processSeconds - commitSeconds - inlineSerializeSeconds,
        commitSeconds,
        serializeSeconds,
        // The log writer thread's time is not this thread's: ingest's waits for it are left out.
        otherSeconds: Math.max(
          0,
          seconds - decodeSeconds - (logWriter === undefined ? appendSeconds : 0) - processSeconds - (serializeSeconds - inlineSerializeSeconds),
        ),
        logWriterThread: logWriter === undefined ? 0 : 1,
        // Group commit: ingest calls appended, and the writer's transactions they took.
        ...(logWriter === undefined ? {} : { logAppends: logWriter.stats.appends, logTransactions: logWriter.stats.transactions }),
        // CPU seconds by thread over the timed run (Linux): how busy each core was.
        cpuMainSeconds: cpu.main,
        cpuLogWriterSeconds: cpu.logWriter,
        cpuSpansSeconds: cpu.spans,
        cpuWalCheckpointSeconds: cpu.walCheckpoint,
        cpuOtherSeconds: cpu.other,
        // The main thread's GC pauses (scavenges: mostly copying what survives; their helpers' share is in cpuOtherSeconds).
        gcMainScavengeSeconds: gcPause.scavenge,
        gcMainOtherSeconds: gcPause.other,
      },
      ...(o.keepDataDir === true ? { dataDir: data.dir } : {}),
    };
  } finally {
    await pipeline?.close();
    await telemetry?.shutdown();
    await sink?.stop();
    if (o.keepDataDir !== true) data.remove();
  }
}

/** Builds the spans of every aggregate (ids hashed, attributes set): spans per second. */
export function runSpanBuild(aggregates: readonly TurnAggregate[], ctx: TurnSpanContext): Sample & { spans: ReadableSpan[] } {
  const start = process.hrtime.bigint();
  const spans: ReadableSpan[] = [];
  for (const a of aggregates) for (const s of buildTurnSpans(a, ctx)) spans.push(s);
  return { seconds: secondsSince(start), count: spans.length, spans };
}

/**
 * What the span thread does for OTLP protobuf: each turn's spans encoded straight from the turn
 * record (`OtlpTurnEncoder`), joined into requests of about `batchSize` spans: spans per second.
 */
export function runEncodeTurns(aggregates: readonly TurnAggregate[], batchSize: number): Sample {
  const start = process.hrtime.bigint();
  const encoder = new OtlpTurnEncoder({ serviceName: 'turnstream', version: 'bench' });
  let bytes = 0;
  let spans = 0;
  let batch: Uint8Array[] = [];
  let inBatch = 0;
  for (const a of aggregates) {
    const e = encoder.encode([a]);
    batch.push(e.bytes);
    inBatch += e.spans;
    if (inBatch >= batchSize) {
      bytes += encoder.request(batch).byteLength;
      spans += inBatch;
      batch = [];
      inBatch = 0;
    }
  }
  if (batch.length > 0) bytes += encoder.request(batch).byteLength;
  spans += inBatch;
  return { seconds: secondsSince(start), count: spans, extra: { bytes } };
}

/** Serialises spans to OTLP protobuf in exporter-sized batches: spans per second. */
export function runSerialize(spans: readonly ReadableSpan[], batchSize: number): Sample {
  const start = process.hrtime.bigint();
  let bytes = 0;
  for (const batch of batches(spans, batchSize)) bytes += ProtobufTraceSerializer.serializeRequest(batch)?.byteLength ?? 0;
  return { seconds: secondsSince(start), count: spans.length, extra: { bytes } };
}
