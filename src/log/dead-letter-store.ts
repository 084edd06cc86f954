import type { DeadLetter, RejectReason } from '../events/reject-reason.ts';

/** Where rejected inputs go, with their reason and raw bytes. Nothing rejected is lost. */
export interface DeadLetterStore {
  put(letters: readonly DeadLetter[]): Promise<void>;
  list(options?: { readonly reason?: RejectReason; readonly limit?: number }): Promise<DeadLetter[]>;
  countByReason(): Promise<Partial<Record<RejectReason, number>>>;
}
