import { isUtf8 } from 'node:buffer';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { decodeEvent, DEFAULT_DECODE_LIMITS, type DecodeLimits } from '../events/decode-event.ts';
import type { RejectReason } from '../events/reject-reason.ts';
import type { LoggedEvent, StepEvent } from '../events/step-event.ts';
import type { AppendInput, EventLog } from '../log/event-log.ts';
import type { DeadLetterStore } from '../log/dead-letter-store.ts';
import { BatchDeadLetters } from './batch-dead-letters.ts';
import { BatchResults, type IngestResult, type IngestSummary } from './batch-results.ts';

export type { IngestResult, IngestSummary } from './batch-results.ts';
import type { PipelineMetrics } from '../exporters/pipeline-metrics.ts';

/** An input the source already found unusable (e.g. a too-deep array element): dead-lettered as is. */
export class RejectedInput {
  readonly reason: RejectReason;
  readonly message: string;
  readonly raw: string | Uint8Array;
  constructor(reason: RejectReason, message: string, raw: string | Uint8Array) {
    this.reason = reason;
    this.message = message;
    this.raw = raw;
  }
}

export interface IngestorOptions {
  /** Where accepted events are appended (an EventLog, or the Kafka topic appender). */
  readonly log: Pick<EventLog, 'append'>;
  readonly deadLetters: DeadLetterStore;
  readonly metrics?: PipelineMetrics;
  readonly limits?: DecodeLimits;
  /** Receives appended events in log order, after they are durable (the processor's queue). */
  readonly onAppended?: (batch: LoggedEvent[]) => void;
  readonly now?: () => number;
  /** Dead letters kept one by one per batch; the rest become one summary letter. Default 100. */
  readonly maxDeadLettersPerBatch?: number;
}

export { MAX_KEPT_RAW_BYTES } from './batch-dead-letters.ts';
/** Decoding yields to the event loop this often, so a huge batch does not stall /healthz or other requests. */
const YIELD_EVERY_MILLIS = 10;

/** Metric label for a source: `file:<path>` collapses to `file` (labels stay bounded). */
const sourceLabel = (source: string): string => source.split(':', 1)[0] ?? source;

type ValidInput = AppendInput & { readonly index: number };

type Decoded =
  | { readonly ok: true; readonly event: StepEvent; readonly raw: string }
  | {
      readonly ok: false;
      readonly reason: RejectReason;
      readonly message: string;
      readonly raw: string | Uint8Array;
      readonly session?: string;
      readonly eventId?: string;
    };

export class Ingestor {
  private readonly o: IngestorOptions;

  constructor(options: IngestorOptions) {
    this.o = options;
  }

  /** Every input's result, in input order. */
  async ingest(inputs: Iterable<unknown>, source: string): Promise<IngestResult[]> {
    const all: IngestResult[] = [];
    await this.run(inputs, source, { maxResults: Number.POSITIVE_INFINITY }, all);
    return all;
  }

  /** Counts and the first `maxResults` non-accepted results: an answer that stays small for any batch. */
  async ingestSummary(
    inputs: Iterable<unknown>,
    source: string,
    { maxResults = 100, maxDeadLetters }: { maxResults?: number; maxDeadLetters?: number } = {},
  ): Promise<IngestSummary> {
    return this.run(inputs, source, { maxResults, ...(maxDeadLetters === undefined ? {} : { maxDeadLetters }) });
  }

  private decode(input: unknown, now: number, limits: DecodeLimits): Decoded {
    if (input instanceof RejectedInput) return { ok: false, reason: input.reason, message: input.message, raw: input.raw };
    let raw: string;
    if (input instanceof Uint8Array) {
      if (!isUtf8(input))
        return { ok: false, reason: 'invalid_utf8', message: 'the input is not valid UTF-8 (the dead letter keeps its exact bytes as rawBase64)', raw: input };
      raw = Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('utf8');
    } else if (typeof input === 'string') {
      raw = input;
    } else {
      // A parsed value is decoded from its text: measured, and never mutated.
      try {
        raw = JSON.stringify(input) ?? '';
      } catch (error) {
        return { ok: false, reason: 'too_deep', message: `the value cannot be serialised: ${(error as Error).message}`, raw: '' };
      }
    }
    const d = decodeEvent(raw, now, limits);
    return d.ok ? { ok: true, event: d.event, raw } : { ...d, raw };
  }

  private async run(
    inputs: Iterable<unknown>,
    source: string,
    caps: { maxResults: number; maxDeadLetters?: number },
    all?: IngestResult[],
  ): Promise<IngestSummary> {
    const now = (this.o.now ?? Date.now)();
    const letters = new BatchDeadLetters({ source, at: now, max: caps.maxDeadLetters ?? this.o.maxDeadLettersPerBatch ?? 100 });
    const results = new BatchResults(caps.maxResults, all);
    const valid = await this.decodeAll(inputs, now, results, letters);
    const label = sourceLabel(source);
    const appended = valid.length > 0 ? await this.append(valid, label, results, letters) : [];
    await letters.store(this.o.deadLetters, this.o.metrics, label);
    if (appended.length > 0) this.o.onAppended?.(appended);
    return results.summary();
  }

  /** Decodes every input; the rejected become results and dead letters, the valid are returned with their index. */
  private async decodeAll(inputs: Iterable<unknown>, now: number, results: BatchResults, letters: BatchDeadLetters): Promise<ValidInput[]> {
    const limits = this.o.limits ?? DEFAULT_DECODE_LIMITS;
    const valid: ValidInput[] = [];
    let index = 0;
    let lastYield = performance.now();
    for (const input of inputs) {
      const i = index++;
      // A huge batch must not hold the event loop (health checks, other requests).
      if ((i & 255) === 255 && performance.now() - lastYield > YIELD_EVERY_MILLIS) {
        await yieldToLoop();
        lastYield = performance.now();
      }
      const d = this.decode(input, now, limits);
      if (d.ok) {
        valid.push({ event: d.event, raw: d.raw, index: i });
        continue;
      }
      const ids = { ...(d.session === undefined ? {} : { session: d.session }), ...(d.eventId === undefined ? {} : { eventId: d.eventId }) };
      results.add({ index: i, status: 'rejected', reason: d.reason, message: d.message, ...(d.eventId === undefined ? {} : { id: d.eventId }) });
      letters.add({ reason: d.reason, message: d.message, ...ids }, d.raw);
    }
    return valid;
  }

  /** Appends the valid events; the log's duplicates become results and dead letters. Returns what was appended. */
  private async append(valid: readonly ValidInput[], label: string, results: BatchResults, letters: BatchDeadLetters): Promise<LoggedEvent[]> {
    // ValidInput is an AppendInput with its input index: no copy per event.
    const outcomes = await this.o.log.append(valid);
    const appended: LoggedEvent[] = [];
    const byType = new Map<string, number>();
    for (let j = 0; j < outcomes.length; j++) {
      const outcome = outcomes[j]!;
      const { event, raw, index: i } = valid[j]!;
      if (outcome.status === 'appended') {
        results.add({ index: i, status: 'accepted', id: event.id, pos: outcome.pos });
        appended.push({ pos: outcome.pos, event });
        byType.set(event.type, (byType.get(event.type) ?? 0) + 1);
      } else {
        results.add({ index: i, status: 'duplicate', id: event.id });
        letters.add({ reason: 'duplicate', message: `event id "${event.id}" is already in the log`, session: event.session, eventId: event.id }, raw);
      }
    }
    for (const [type, n] of byType) this.o.metrics?.recordIngested(type, label, n);
    return appended;
  }
}

/** Counts results by status, for summaries. */
export function summarize(results: readonly IngestResult[]): { accepted: number; duplicate: number; rejected: number } {
  const s = { accepted: 0, duplicate: 0, rejected: 0 };
  for (const r of results) s[r.status]++;
  return s;
}
