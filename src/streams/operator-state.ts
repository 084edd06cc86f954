/**
 * How a stateful operator's open work leaves and re-enters it (checkpoints), and how it learns
 * that a turn it no longer holds was closed before (lateness per turn).
 */

/**
 * A stateful operator's state as plain JSON-safe data. `initial` (from a checkpoint) replaces the
 * empty state at subscription; `expose` is called once per subscription with a function that
 * returns the current state, taken between two events. Restoring what `snapshot()` returned and
 * feeding the rest of the input gives exactly the outputs an uninterrupted run gives.
 */
export interface OperatorState<S> {
  readonly initial?: S;
  readonly expose?: (snapshot: (options?: SnapshotOptions) => S) => void;
}

export interface SnapshotOptions {
  /**
   * The snapshot is only JSON-encoded (once), maybe over the next events: an operator may put
   * stand-ins in it that encode as its state at the time of the snapshot (`toJSON`), taken later.
   */
  readonly deferred?: boolean;
  /** With the log position at which each held entry was made (`HeldTurnsSnapshot.order`), for merging shards. Never in a checkpoint. */
  readonly order?: boolean;
  /**
   * The snapshot is restored in this thread, into a new operator, before this one sees another
   * event (a shard of a rebuild): an operator may hand its per-turn objects over as they are
   * instead of copying them. Never for a checkpoint or another thread.
   */
  readonly live?: boolean;
}

/**
 * The turns an operator released from memory after they closed and their grace passed. An event
 * of a turn the operator does not hold is late when (and only when) that turn closed before it;
 * otherwise it opens a new window, whatever the time of newer events elsewhere.
 */
export interface ClosedTurns {
  /** Whether turn (`session`, `turn`) closed at a log position before `pos` and was released since. */
  closedBefore(session: string, turn: string, pos: number): boolean;
  /** A closed turn left an operator's memory; `closedAtPos` is the position of its latest aggregate. */
  released(session: string, turn: string, closedAtPos: number): void;
}

/**
 * `ClosedTurns` held in memory: every released turn is remembered for the life of the object. For
 * runs whose input is bounded (a replay, a test); the live pipeline backs it with the state store.
 */
export function memoryClosedTurns(): ClosedTurns {
  const closed = new Map<string, number>();
  return {
    closedBefore: (session, turn, pos) => {
      const at = closed.get(`${session}\u0000${turn}`);
      return at !== undefined && at < pos;
    },
    released: (session, turn, closedAtPos) => {
      closed.set(`${session}\u0000${turn}`, closedAtPos);
    },
  };
}
