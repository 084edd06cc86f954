import { decodeEvent, DEFAULT_DECODE_LIMITS, type DecodeLimits } from '../events/decode-event.ts';
import type { DeadLetter, RejectReason } from '../events/reject-reason.ts';
import type { LoggedEvent } from '../events/step-event.ts';
import type { AppendInput, EventLog } from '../log/event-log.ts';
import type { DeadLetterStore } from '../log/dead-letter-store.ts';
import type { PipelineMetrics } from '../exporters/pipeline-metrics.ts';

/** What happened to one input, in input order (the HTTP 207-style answer). */
export type IngestResult =
  | { readonly index: number; readonly status: 'accepted'; readonly id: string; readonly pos: number }
  | { readonly index: number; readonly status: 'duplicate'; readonly id: string }
  | { readonly index: number; readonly status: 'rejected'; readonly reason: RejectReason; readonly message: string; readonly id?: string };

export interface IngestorOptions {
  /** Where accepted events are appended (an EventLog, or the Kafka topic appender). */
  readonly log: Pick<EventLog, 'append'>;
  readonly deadLetters: DeadLetterStore;
  readonly metrics?: PipelineMetrics;
  readonly limits?: DecodeLimits;
  /** Receives appended events in log order, after they are durable (the processor's queue). */
  readonly onAppended?: (batch: LoggedEvent[]) => void;
  readonly now?: () => number;
}

/** Metric label for a source: `file:<path>` collapses to `file` (labels stay bounded). */
const sourceLabel = (source: string): string => source.split(':', 1)[0] ?? source;

/**
 * Decode → validate → dedupe → append, for any source. Each input gets its own result; invalid
 * inputs and duplicates go to dead letters with their raw text and reason, counted in metrics.
 * Resolves only after the accepted events are durable in the log, so a caller may acknowledge.
 */
export class Ingestor {
  private readonly o: IngestorOptions;

  constructor(options: IngestorOptions) {
    this.o = options;
  }

  async ingest(inputs: readonly unknown[], source: string): Promise<IngestResult[]> {
    const now = (this.o.now ?? Date.now)();
    const limits = this.o.limits ?? DEFAULT_DECODE_LIMITS;
    const results: IngestResult[] = new Array(inputs.length);
    const letters: DeadLetter[] = [];
    const valid: AppendInput[] = [];
    const validIndex: number[] = [];
    for (let i = 0; i < inputs.length; i++) {
      const input = inputs[i];
      const raw = typeof input === 'string' ? input : JSON.stringify(input);
      // A parsed value (JSON-array body) is decoded from its text: measured, and never mutated.
      const d = decodeEvent(raw, now, limits);
      if (d.ok) {
        valid.push({ event: d.event, raw });
        validIndex.push(i);
      } else {
        results[i] = { index: i, status: 'rejected', reason: d.reason, message: d.message, ...(d.eventId === undefined ? {} : { id: d.eventId }) };
        letters.push({ reason: d.reason, message: d.message, raw, source, at: now, ...(d.session === undefined ? {} : { session: d.session }), ...(d.eventId === undefined ? {} : { eventId: d.eventId }) });
      }
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
          results[i] = { index: i, status: 'accepted', id: event.id, pos: outcome.pos };
          appended.push({ pos: outcome.pos, event });
          byType.set(event.type, (byType.get(event.type) ?? 0) + 1);
        } else {
          results[i] = { index: i, status: 'duplicate', id: event.id };
          letters.push({ reason: 'duplicate', message: `event id "${event.id}" is already in the log`, raw, source, at: now, session: event.session, eventId: event.id });
        }
      }
      for (const [type, n] of byType) this.o.metrics?.recordIngested(type, label, n);
    }
    if (letters.length > 0) {
      await this.o.deadLetters.put(letters);
      const byReason = new Map<RejectReason, number>();
      for (const l of letters) byReason.set(l.reason, (byReason.get(l.reason) ?? 0) + 1);
      for (const [reason, n] of byReason) {
        if (reason === 'duplicate') this.o.metrics?.recordDeduped(label, n);
        this.o.metrics?.recordDeadLettered(reason, label, n);
      }
    }
    if (appended.length > 0) this.o.onAppended?.(appended);
    return results;
  }
}

/** Counts results by status, for summaries. */
export function summarize(results: readonly IngestResult[]): { accepted: number; duplicate: number; rejected: number } {
  const s = { accepted: 0, duplicate: 0, rejected: 0 };
  for (const r of results) s[r.status]++;
  return s;
}
