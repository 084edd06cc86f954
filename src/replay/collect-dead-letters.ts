import type { DeadLetter } from '../events/reject-reason.ts';
import type { DeadLetterStore } from '../log/dead-letter-store.ts';

/**
 * A dead-letter store for a replay: it keeps the letters in memory (of `session` only, when given)
 * instead of writing them anywhere, so a replay reports what the windows turned away without
 * touching the live store.
 */
export function collectDeadLetters(session: string | undefined): { readonly store: DeadLetterStore; readonly letters: DeadLetter[] } {
  const letters: DeadLetter[] = [];
  const store: DeadLetterStore = {
    put: async (batch) => {
      for (const l of batch) if (session === undefined || l.session === session) letters.push(l);
      return 0;
    },
    list: async () => [...letters],
    countByReason: async () => {
      const counts: Partial<Record<DeadLetter['reason'], number>> = {};
      for (const l of letters) counts[l.reason] = (counts[l.reason] ?? 0) + 1;
      return counts;
    },
  };
  return { store, letters };
}
