import { isUtf8 } from 'node:buffer';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { decodeEvent, DEFAULT_DECODE_LIMITS, type DecodeLimits } from '../events/decode-event.ts';
import type { DeadLetter, RejectReason } from '../events/reject-reason.ts';
import type { LoggedEvent, StepEvent } from '../events/step-event.ts';
import type { AppendInput, EventLog } from '../log/event-log.ts';
import type { DeadLetterStore } from '../log/dead-letter-store.ts';
import type { PipelineMetrics } from '../exporters/pipeline-metrics.ts';

/** What happened to one input, in input order (the HTTP 207-style answer). */
export type IngestResult =
  | { readonly index: number; readonly status: 'accepted'; readonly id: string; readonly pos: number }
  | { readonly index: number; readonly status: 'duplicate'; readonly id: string }
  | { readonly index: number; readonly status: 'rejected'; readonly reason: RejectReason; readonly message: string; readonly id?: string };

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

/** Counts of one batch and its first non-accepted results (what the HTTP answer lists). */
export interface IngestSummary {
  readonly accepted: number;
  readonly duplicate: number;
  readonly rejected: number;
  /** The first `maxResults` non-accepted results, by input index. */
  readonly results: IngestResult[];
  /** Non-accepted results not listed. */
  readonly omitted: number;
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

/** A dead letter keeps at most this much of its input (a whole unparseable 8 MiB body is not kept twice). */
export const MAX_KEPT_RAW_BYTES = 256 * 1024;
/** Decoding yields to the event loop this often, so a huge batch does not stall /healthz or other requests. */
const YIELD_EVERY_MILLIS = 10;

/** Metric label for a source: `file:<path>` collapses to `file` (labels stay bounded). */
const sourceLabel = (source: string): string => source.split(':', 1)[0] ?? source;

type Decoded =
  | { readonly ok: true; readonly event: StepEvent; readonly raw: string }
  | { readonly ok: false; readonly reason: RejectReason; readonly message: string; readonly raw: string | Uint8Array; readonly session?: string; readonly eventId?: string };

/** The raw fields of a dead letter: exact text, or U+FFFD text plus exact base64 bytes; cut at the cap. */
function keptRaw(raw: string | Uint8Array): Pick<DeadLetter, 'raw' | 'rawBase64' | 'size'> {
  if (typeof raw === 'string') {
    if (raw.length * 3 <= MAX_KEPT_RAW_BYTES) return { raw };
    const bytes = Buffer.from(raw, 'utf8');
    if (bytes.length <= MAX_KEPT_RAW_BYTES) return { raw };
    return { raw: bytes.toString('utf8', 0, MAX_KEPT_RAW_BYTES), size: bytes.length };
  }
  const bytes = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const kept = bytes.length <= MAX_KEPT_RAW_BYTES ? bytes : bytes.subarray(0, MAX_KEPT_RAW_BYTES);
  return {
    raw: kept.toString('utf8'),
    ...(isUtf8(kept) ? {} : { rawBase64: kept.toString('base64') }),
    ...(kept === bytes ? {} : { size: bytes.length }),
  };
}

/**
 * Decode → validate → dedupe → append, for any source. Each input gets its own result; invalid
 * inputs and duplicates go to dead letters with their raw bytes and reason, counted in metrics.
 * Resolves only after the accepted events are durable in the log, so a caller may acknowledge.
 *
 * Inputs are JSON texts, raw bytes (`Uint8Array`: invalid UTF-8 is rejected as `invalid_utf8` and
 * kept byte for byte, so ids that differ only in an invalid byte cannot collide), already-parsed
 * values, or `RejectedInput`s. Bounded however bad the batch: the first `maxDeadLettersPerBatch`
 * rejections are kept one by one and the rest as one `dead_letters_dropped` letter with counts by
 * reason (the metric still counts every rejection by its reason, plus the dropped ones).
 */
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
  async ingestSummary(inputs: Iterable<unknown>, source: string, { maxResults = 100, maxDeadLetters }: { maxResults?: number; maxDeadLetters?: number } = {}): Promise<IngestSummary> {
    return this.run(inputs, source, { maxResults, ...(maxDeadLetters === undefined ? {} : { maxDeadLetters }) });
  }

  private decode(input: unknown, now: number, limits: DecodeLimits): Decoded {
    if (input instanceof RejectedInput) return { ok: false, reason: input.reason, message: input.message, raw: input.raw };
    let raw: string;
    if (input instanceof Uint8Array) {
      if (!isUtf8(input)) return { ok: false, reason: 'invalid_utf8', message: 'the input is not valid UTF-8 (the dead letter keeps its exact bytes as rawBase64)', raw: input };
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

  private async run(inputs: Iterable<unknown>, source: string, caps: { maxResults: number; maxDeadLetters?: number }, all?: IngestResult[]): Promise<IngestSummary> {
    const now = (this.o.now ?? Date.now)();
    const limits = this.o.limits ?? DEFAULT_DECODE_LIMITS;
    const maxLetters = caps.maxDeadLetters ?? this.o.maxDeadLettersPerBatch ?? 100;
    const letters: DeadLetter[] = [];
    const byReason = new Map<RejectReason, number>();
    const dropped = new Map<RejectReason, number>();
    const letter = (l: Omit<DeadLetter, 'raw' | 'source' | 'at' | 'rawBase64' | 'size'>, raw: string | Uint8Array): void => {
      byReason.set(l.reason, (byReason.get(l.reason) ?? 0) + 1);
      if (letters.length < maxLetters) letters.push({ ...l, ...keptRaw(raw), source, at: now });
      else dropped.set(l.reason, (dropped.get(l.reason) ?? 0) + 1);
    };
    const rejections: IngestResult[] = [];
    const duplicates: IngestResult[] = [];
    const counts = { accepted: 0, duplicate: 0, rejected: 0 };
    const valid: AppendInput[] = [];
    const validIndex: number[] = [];
    let index = 0;
    let lastYield = performance.now();
    for (const input of inputs) {
      const i = index++;
      if ((i & 255) === 255 && performance.now() - lastYield > YIELD_EVERY_MILLIS) {
        await yieldToLoop();
        lastYield = performance.now();
      }
      const d = this.decode(input, now, limits);
      if (d.ok) {
        valid.push({ event: d.event, raw: d.raw });
        validIndex.push(i);
        continue;
      }
      counts.rejected++;
      const ids = { ...(d.session === undefined ? {} : { session: d.session }), ...(d.eventId === undefined ? {} : { eventId: d.eventId }) };
      const result: IngestResult = { index: i, status: 'rejected', reason: d.reason, message: d.message, ...(d.eventId === undefined ? {} : { id: d.eventId }) };
      if (all !== undefined) all[i] = result;
      else if (rejections.length < caps.maxResults) rejections.push(result);
      letter({ reason: d.reason, message: d.message, ...ids }, d.raw);
    }
    const label = sourceLabel(source);
    const appended: LoggedEvent[] = [];
    if (valid.length > 0) {
      const outcomes = await this.o.log.append(valid);
      const byType = new Map<string, number>();
      for (let j = 0; j < outcomes.length; j++) {
        const outcome = outcomes[j]!;
        const { event, raw } = valid[j]!;
        const i = validIndex[j]!;
        if (outcome.status === 'appended') {
          counts.accepted++;
          if (all !== undefined) all[i] = { index: i, status: 'accepted', id: event.id, pos: outcome.pos };
          appended.push({ pos: outcome.pos, event });
          byType.set(event.type, (byType.get(event.type) ?? 0) + 1);
        } else {
          counts.duplicate++;
          const result: IngestResult = { index: i, status: 'duplicate', id: event.id };
          if (all !== undefined) all[i] = result;
          else if (duplicates.length < caps.maxResults) duplicates.push(result);
          letter({ reason: 'duplicate', message: `event id "${event.id}" is already in the log`, session: event.session, eventId: event.id }, raw);
        }
      }
      for (const [type, n] of byType) this.o.metrics?.recordIngested(type, label, n);
    }
    let droppedTotal = 0;
    for (const n of dropped.values()) droppedTotal += n;
    if (droppedTotal > 0) {
      const which = [...dropped].map(([reason, n]) => `${reason} ${n}`).join(', ');
      letters.push({ reason: 'dead_letters_dropped', message: `${droppedTotal} more rejected inputs of this batch were not kept one by one (the first ${maxLetters} were): ${which}`, raw: '', source, at: now });
    }
    if (letters.length > 0) {
      const trimmed = await this.o.deadLetters.put(letters);
      for (const [reason, n] of byReason) {
        if (reason === 'duplicate') this.o.metrics?.recordDeduped(label, n);
        this.o.metrics?.recordDeadLettered(reason, label, n);
      }
      const lost = droppedTotal + (typeof trimmed === 'number' ? trimmed : 0);
      if (lost > 0) this.o.metrics?.recordDeadLettered('dead_letters_dropped', label, lost);
    }
    if (appended.length > 0) this.o.onAppended?.(appended);
    const listed = all !== undefined ? [] : [...rejections, ...duplicates].sort((a, b) => a.index - b.index).slice(0, caps.maxResults);
    return { ...counts, results: listed, omitted: counts.rejected + counts.duplicate - listed.length };
  }
}

/** Counts results by status, for summaries. */
export function summarize(results: readonly IngestResult[]): { accepted: number; duplicate: number; rejected: number } {
  const s = { accepted: 0, duplicate: 0, rejected: 0 };
  for (const r of results) s[r.status]++;
  return s;
}
