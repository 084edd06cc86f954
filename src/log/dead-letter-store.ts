import type { DeadLetter, RejectReason } from '../events/reject-reason.ts';

/** Where rejected inputs go, with their reason and raw bytes. Nothing rejected is lost silently. */
export interface DeadLetterStore {
  /**
   * Keeps the letters. Resolves to how many older letters the store trimmed to stay within its
   * retention bound (the caller counts them as `dead_letters_dropped`); 0 where the storage
   * itself expires them (Kafka's topic retention).
   */
  put(letters: readonly DeadLetter[]): Promise<number>;
  list(options?: { readonly reason?: RejectReason; readonly limit?: number }): Promise<DeadLetter[]>;
  countByReason(): Promise<Partial<Record<RejectReason, number>>>;
}

/** How much a dead-letter store keeps; the oldest letters go first. */
export interface DeadLetterRetention {
  /** Most letters in total. */
  readonly maxRows: number;
  /** Most letters from one source (`http`, `pipeline`, `file:…`), so one flood cannot evict the others. */
  readonly maxRowsPerSource: number;
  /** Most raw bytes in total. */
  readonly maxBytes: number;
  /** Oldest letter kept, by arrival time. */
  readonly maxAgeMillis: number;
}

export const DEFAULT_DEAD_LETTER_RETENTION: DeadLetterRetention = {
  maxRows: 100_000,
  maxRowsPerSource: 50_000,
  maxBytes: 256 * 1024 * 1024,
  maxAgeMillis: 7 * 24 * 3_600_000,
};
