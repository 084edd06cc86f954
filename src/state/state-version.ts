/**
 * The version a last-write-wins write carries: the event's (time, seq, id). Writes resolve by this
 * order, never by arrival, so a replay or a second consumer converges to the same state.
 */
export interface StateVersion {
  readonly time: number;
  /** The producer's seq, or −1 when it has none. */
  readonly seq: number;
  readonly id: string;
}

/** Negative when a is older than b, positive when newer, 0 when equal. */
export function compareVersions(a: StateVersion, b: StateVersion): number {
  if (a.time !== b.time) return a.time < b.time ? -1 : 1;
  if (a.seq !== b.seq) return a.seq < b.seq ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
