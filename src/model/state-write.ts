import type { JsonValue } from './json-value.ts';

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

/** The LWW rule: a write applies only over nothing or an OLDER version (ties keep the held one). */
export function winsOver(incoming: StateVersion, held: StateVersion | undefined): boolean {
  return held === undefined || compareVersions(incoming, held) > 0;
}

/** A last-write-wins write. `deleted: true` is a tombstone. */
export type StateWrite =
  | { readonly session: string; readonly key: string; readonly deleted: false; readonly value: JsonValue; readonly version: StateVersion }
  | { readonly session: string; readonly key: string; readonly deleted: true; readonly version: StateVersion };

/** One key as held: its value (`undefined` for a tombstone) and the version that wrote it. */
export interface StateEntry {
  readonly value: JsonValue | undefined;
  readonly deleted: boolean;
  readonly version: StateVersion;
}

export function stateEntry(w: StateWrite): StateEntry {
  return { value: w.deleted ? undefined : w.value, deleted: w.deleted, version: w.version };
}

/**
 * The writes of a batch that take effect, by the LWW rule: per (session, key) the newest write,
 * and only where it beats the version `held` returns. In first-seen order of (session, key).
 */
export function winningWrites(writes: readonly StateWrite[], held: (session: string, key: string) => StateVersion | undefined): StateWrite[] {
  const out = new Map<string, StateWrite>();
  for (const w of writes) {
    const k = `${w.session}\u0000${w.key}`;
    const best = out.get(k);
    if (best !== undefined ? !winsOver(w.version, best.version) : !winsOver(w.version, held(w.session, w.key))) continue;
    out.set(k, w);
  }
  return [...out.values()];
}
