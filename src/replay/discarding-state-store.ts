import type { JsonValue } from '../events/step-event.ts';
import type { SessionStateStore, SessionSummary, StateEntry } from '../state/session-state-store.ts';
import type { SessionTotals } from '../streams/session-totals.ts';
import type { TurnRecord } from '../streams/turn-aggregate.ts';

/**
 * A commit target that keeps nothing but the position: for a replay that takes its results from
 * the aggregates as they are emitted (the backfill) and must not grow with the log. Not a
 * `SessionStateStore` adapter in the contract's sense (reads come back empty), only what the
 * Processor needs to run: `commit` and `position`.
 */
export class DiscardingStateStore implements SessionStateStore {
  private committed = 0;

  async commit(batch: { readonly position: number }): Promise<void> {
    if (batch.position > this.committed) this.committed = batch.position;
  }

  async position(): Promise<number> {
    return this.committed;
  }

  async get(): Promise<StateEntry | undefined> {
    return undefined;
  }

  async list(): Promise<Record<string, JsonValue>> {
    return {};
  }

  async set(): Promise<void> {}

  async delete(): Promise<void> {}

  async totals(): Promise<SessionTotals | undefined> {
    return undefined;
  }

  async sessions(): Promise<SessionSummary[]> {
    return [];
  }

  async turns(): Promise<TurnRecord[]> {
    return [];
  }

  async close(): Promise<void> {}
}
