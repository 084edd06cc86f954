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
  | 'late'
  /** The bytes are not valid UTF-8 (the raw bytes are kept, base64, in the dead letter). */
  | 'invalid_utf8'
  /** A JSON value nests deeper than the decoder allows (attributes, state values, the body). */
  | 'too_deep'
  /** A number is not finite, or a token count / cost is outside its sane range. */
  | 'out_of_range'
  /** Acknowledged and logged, but processing it threw: the pipeline skipped it and went on. */
  | 'processing_error'
  /** Stands for dead letters not kept individually (per-request / per-source / total caps). */
  | 'dead_letters_dropped'
  /** An OTLP body that does not decode, or an OTLP item its mapping cannot use (bad ids, missing attributes). */
  | 'invalid_otlp'
  /** OTLP spans that did not fit the trace buffer (its trace, span or byte bound). */
  | 'otlp_buffer_full';

export const REJECT_REASONS: readonly RejectReason[] = [
  'invalid_json',
  'schema',
  'unknown_version',
  'too_large',
  'time_skew',
  'duplicate',
  'late',
  'invalid_utf8',
  'too_deep',
  'out_of_range',
  'processing_error',
  'dead_letters_dropped',
  'invalid_otlp',
  'otlp_buffer_full',
];

/** A rejected input, kept with its raw bytes so nothing is lost. */
export interface DeadLetter {
  readonly reason: RejectReason;
  readonly message: string;
  /** The raw input exactly as received (for a `late` event: its logged JSON). */
  readonly raw: string;
  /**
   * The exact raw bytes, base64, when they are not valid UTF-8 (`raw` then shows them decoded
   * with U+FFFD replacements, for reading only).
   */
  readonly rawBase64?: string;
  /** Size in bytes of the original input, set only when `raw` (and `rawBase64`) keep just its beginning. */
  readonly size?: number;
  /** Where it came from: `http`, `file:<path>`, `stdin`, `pipeline`. */
  readonly source: string;
  /** Session, when the input was parseable enough to have one. */
  readonly session?: string;
  readonly eventId?: string;
  /** Arrival (processing) time, epoch ms. */
  readonly at: number;
}
