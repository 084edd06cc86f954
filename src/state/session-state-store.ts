import type { JsonValue } from '../model/json-value.ts';
import type { SessionDelta, SessionTotals } from '../model/session-totals.ts';
import type { TurnAggregate } from '../model/turn-aggregate.ts';
import type { TurnRecord } from '../model/turn-record.ts';
import type { StateEntry, StateVersion, StateWrite } from '../model/state-write.ts';

/**
 * Everything one processed batch of the log changes, committed atomically with the log position it
 * reflects. After a crash the pipeline resumes from `position()`, so no effect is applied twice.
 */
export interface StateCommit {
  readonly writes: readonly StateWrite[];
  readonly deltas: readonly SessionDelta[];
  readonly turns: readonly TurnAggregate[];
  readonly position: number;
  /** The processor's open work as of `position`, stored in the same transaction (replaces the held one). */
  readonly checkpoint?: Checkpoint;
}

/**
 * The processor's open work (windows, dedupe ids, budget sums, clocks) at a log position: a restart
 * loads it and reads the log after `position` only. `data` is opaque bytes to the store; `format`
 * says how to read them (a reader that does not know the format rebuilds from the log instead).
 */
export interface Checkpoint {
  readonly format: number;
  readonly position: number;
  readonly data: Uint8Array;
  /** Texts kept beside `data`, by id (a store with `keepsCheckpointTexts`; see `KeptTexts`). */
  readonly texts?: KeptTexts;
  /** Set by `stageCheckpoint`: where the store wrote `data` and the new texts, for the commit to name. */
  readonly staged?: { readonly doc: string; readonly texts?: string };
}

/**
 * Texts a checkpoint names by id, which the store keeps as rows of their own instead of inside
 * `data`: most of the open work is closed turns held for their grace period, each unchanged from one
 * checkpoint to the next, so a checkpoint writes each text once instead of at every checkpoint.
 */
export interface KeptTexts {
  /** Every text the checkpoint names (on a commit, and as `checkpoint()` reads it back); kept texts not in it are deleted. */
  readonly byId: ReadonlyMap<number, string | Uint8Array>;
  /** On a commit: the ids not kept yet, to write. */
  readonly put?: readonly number[];
  /** On a commit: what is kept is unknown to the writer (a fresh start): replace every kept text by `byId`. */
  readonly full?: boolean;
  /** On a commit: the `put` texts made ready to write, in `put`'s order (else the store makes it from `byId`). */
  readonly segment?: TextSegment;
}

/** Texts back to back: `bytes` holds each text of `ids` (`[id, byte length]`) in turn. */
export interface TextSegment {
  readonly ids: readonly (readonly [number, number])[];
  readonly bytes: Uint8Array;
}

export interface SessionSummary {
  readonly session: string;
  readonly totals: SessionTotals;
}

/**
 * Sets `key` on a plain record as an own, enumerable property, whatever its name: assignment would
 * set the prototype for `__proto__` (and the key would vanish from the listing and from JSON).
 */
export function putEntry<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Key prefix reserved for turnstream's own per-session entries (e.g. roll-up totals). */
export const RESERVED_KEY_PREFIX = '$turnstream/';
export const TOTALS_KEY = `${RESERVED_KEY_PREFIX}totals`;

/**
 * Session-scoped last-write-wins state, roll-up totals and latest turn aggregates.
 * Contract: a write applies only if its version is newer than the stored one (ties keep the
 * stored); a delete leaves a tombstone that hides the key and still wins over older writes;
 * sessions never see each other's keys; `commit` is all-or-nothing, and a commit whose position is
 * not beyond `position()` is ignored whole (it was applied already); `position` never goes back.
 */
/**
 * The part of a store the `Processor` uses: commit a batch's effects with the log position they
 * reflect, and read that position back. A replay that keeps nothing passes just this.
 */
export interface StateCommitTarget {
  commit(batch: StateCommit): Promise<void>;
  /** Log position the stored effects reflect (0 when nothing was committed). */
  position(): Promise<number>;
  /** The latest checkpoint committed (undefined when none, or when this target keeps none). */
  checkpoint?(): Promise<Checkpoint | undefined>;
  /** This store keeps a checkpoint's `texts` (format 3); without it checkpoints hold everything in `data`. */
  readonly keepsCheckpointTexts?: boolean;
  /**
   * Writes a checkpoint's big bytes where a later commit can name them (durable when it resolves),
   * off the caller's thread: the checkpoint to commit instead. Without it a commit writes them.
   */
  stageCheckpoint?(checkpoint: Checkpoint): Promise<Checkpoint>;
  /**
   * A checkpoint `stageCheckpoint` returned will never be committed (dropped: an isolation rebuild,
   * a clean stop's checkpoint in its place): its staged files can go now rather than at the next
   * open's sweep. Best effort.
   */
  unstageCheckpoint?(checkpoint: Checkpoint): void;
  /**
   * Synchronous: the `closedAtPos` of the stored (latest) revision of a turn, or undefined when the
   * store holds no closed turn by that id. Lets the processor tell a late event from a new turn
   * without holding closed turns in memory.
   */
  closedTurnAt?(session: string, turn: string): number | undefined;
  /**
   * `closedTurnAt` for many turns in one call (the turns a batch starts): each answer as
   * `closedTurnAt` would give it, by index; `null` where the store cannot say in bulk (ask
   * `closedTurnAt`).
   */
  closedTurnsAt?(turns: readonly (readonly [session: string, turn: string])[]): (number | undefined | null)[];
}

export interface SessionStateStore extends StateCommitTarget {
  get(session: string, key: string): Promise<StateEntry | undefined>;
  /** The live (non-deleted, non-reserved) keys of a session. */
  list(session: string): Promise<Record<string, JsonValue>>;
  set(session: string, key: string, value: JsonValue, version: StateVersion): Promise<void>;
  delete(session: string, key: string, version: StateVersion): Promise<void>;
  commit(batch: StateCommit): Promise<void>;
  /** Log position the stored effects reflect (0 when nothing was committed). */
  position(): Promise<number>;
  totals(session: string): Promise<SessionTotals | undefined>;
  sessions(options?: { readonly limit?: number }): Promise<SessionSummary[]>;
  /** Latest revision of each closed turn of a session, in start order (stored without per-call lists). */
  turns(session: string): Promise<TurnRecord[]>;
  close(): Promise<void>;
}
