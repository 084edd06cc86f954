/**
 * Why an input did not become (or stay) part of the aggregates. Every rejection carries one of
 * these codes: it labels the dead-letter metric and the dead-letter row.
 */
export type RejectReason =
  | 'invalid_json'
  | 'schema'
  | 'unknown_version'
  | 'too_large'
  | 'time_skew'
  | 'duplicate'
  | 'late';

export const REJECT_REASONS: readonly RejectReason[] = [
  'invalid_json',
  'schema',
  'unknown_version',
  'too_large',
  'time_skew',
  'duplicate',
  'late',
];

/** A rejected input, kept with its raw bytes so nothing is lost. */
export interface DeadLetter {
  readonly reason: RejectReason;
  readonly message: string;
  /** The raw input exactly as received (for a `late` event: its logged JSON). */
  readonly raw: string;
  /** Where it came from: `http`, `file:<path>`, `stdin`, `pipeline`. */
  readonly source: string;
  /** Session, when the input was parseable enough to have one. */
  readonly session?: string;
  readonly eventId?: string;
  /** Arrival (processing) time, epoch ms. */
  readonly at: number;
}
