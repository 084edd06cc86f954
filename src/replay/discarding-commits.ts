import type { StateCommitTarget } from '../state/session-state-store.ts';

/**
 * A commit target that keeps nothing but the position: for a replay that takes its results from
 * the aggregates as they are emitted (the backfill) and must not grow with the log. It is exactly
 * what the Processor needs of a store (`StateCommitTarget`), nothing more.
 */
export function discardingCommits(): StateCommitTarget {
  let committed = 0;
  return {
    commit: async ({ position }) => {
      if (position > committed) committed = position;
    },
    position: async () => committed,
  };
}
