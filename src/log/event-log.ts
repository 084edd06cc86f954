import type { LoggedEvent, StepEvent } from '../events/step-event.ts';

/** One validated event to append, with the exact text that will be stored and replayed. */
export interface AppendInput {
  readonly event: StepEvent;
  readonly raw: string;
}

/** Per-event outcome of an append, in input order. */
export type AppendOutcome = { readonly status: 'appended'; readonly pos: number } | { readonly status: 'duplicate' };

export interface ReadOptions {
  /** Read events with a position strictly greater than this. Default 0 (from the start). */
  readonly after?: number;
  /** Only this session's events. */
  readonly session?: string;
  /** Events per yielded batch. Default 5000. */
  readonly batchSize?: number;
}

/**
 * The durable, append-only event log: the source of truth everything else is derived from.
 * Contract: `append` resolves only once every appended event is durable; positions grow strictly
 * in append order; `read` yields events in position order. Where `dedupesOnAppend` is true (SQLite)
 * a repeated event id is reported as `duplicate` and not stored again; where it is false (Kafka:
 * any process may produce, there is no global id index) the log is at-least-once and the
 * processor deduplicates by id.
 */
export interface EventLog {
  readonly dedupesOnAppend: boolean;
  append(batch: readonly AppendInput[]): Promise<AppendOutcome[]>;
  read(options?: ReadOptions): AsyncIterable<LoggedEvent[]>;
  /** Position of the last appended event (0 when empty). */
  head(): Promise<number>;
  close(): Promise<void>;
}
