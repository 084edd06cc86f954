import type { KeptTexts } from '../state/session-state-store.ts';
import { textSegmentSteps } from '../state/text-segment.ts';
import type { SnapshotText } from '../streams/snapshot-text.ts';
import { drain } from './steps.ts';

const TAKE_STEP = 256;

/** A text as the store keeps it: a string as is, a slice of a restored checkpoint as a view of its bytes (no copy). */
const storable = (t: SnapshotText): string | Uint8Array => (typeof t === 'string' ? t : t.bytes.subarray(t.start, t.end));

/** The ids of one checkpoint's texts and the store's changes; `committed()` once the commit holding it succeeded. */
export interface TakenTextIds {
  readonly ids: readonly number[];
  readonly nextId: number;
  readonly texts: KeptTexts;
  committed(): void;
}

/**
 * Which closed windows' texts the store keeps (checkpoint format 3), by id. A closed turn is held
 * for its grace period (5 min of event time by default) and its text does not change in it, so
 * each checkpoint puts only the texts made since the last one (the store drops those no longer named):
 * the bytes a checkpoint writes follow what changed, not everything held. Measured on the full
 * bench (1M events, ~60k held closed turns at the end): the checkpoint grew to 101 MiB, every
 * 100k events, written whole each time.
 *
 * A text is known by identity: the window returns the same string (or restored slice) while it is
 * unchanged; a changed window makes a new string, which gets a new id (equal strings share one).
 */
export class CheckpointTextIds {
  /** The texts the store keeps (as of the last committed checkpoint), with their ids. */
  private kept = new Map<SnapshotText, number>();
  private nextId = 1;
  /** The store's kept texts are not known (a fresh start): the next checkpoint replaces them all. */
  private full = true;

  /** After a restore from a format-3 checkpoint: the store keeps exactly its texts. */
  restored(texts: readonly SnapshotText[], ids: readonly number[], nextId: number): void {
    this.kept = new Map();
    for (let i = 0; i < texts.length; i++) this.kept.set(texts[i]!, ids[i]!);
    this.nextId = nextId;
    this.full = false;
  }

  /** What the store keeps is not known (fresh operators, or a format-2 checkpoint). */
  reset(): void {
    this.kept = new Map();
    this.full = true;
  }

  /** Ids for `texts` (a checkpoint's, in order), and which of them the store must put. */
  take(texts: readonly SnapshotText[]): TakenTextIds {
    return drain(this.taking(texts));
  }

  /** `take`, yielding after every `TAKE_STEP` texts (a caller may go on with it later: see `CheckpointSchedule.advance`). */
  *taking(texts: readonly SnapshotText[]): Generator<void, TakenTextIds, undefined> {
    const next = new Map<SnapshotText, number>();
    const byId = new Map<number, string | Uint8Array>();
    const ids: number[] = new Array(texts.length);
    const put: number[] = [];
    let nextId = this.nextId;
    for (let i = 0; i < texts.length; i++) {
      const t = texts[i]!;
      let id = next.get(t);
      if (id === undefined) {
        id = this.kept.get(t);
        if (id === undefined || this.full) {
          id ??= nextId++;
          put.push(id);
        }
        next.set(t, id);
        byId.set(id, storable(t));
      }
      ids[i] = id;
      if (i % TAKE_STEP === TAKE_STEP - 1) yield;
    }
    const segment = yield* textSegmentSteps(put, byId);
    const full = this.full;
    return {
      ids,
      nextId,
      texts: { byId, put, segment, ...(full ? { full } : {}) },
      committed: () => {
        this.kept = next;
        this.nextId = nextId;
        this.full = false;
      },
    };
  }
}
