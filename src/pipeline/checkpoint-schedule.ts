import type { Checkpoint } from '../state/session-state-store.ts';
import { encodeCheckpointKeptTextsSteps, encodeCheckpointSteps, type DecodedCheckpoint, type OpenWork } from './checkpoint-codec.ts';
import { CheckpointTextIds, type TakenTextIds } from './checkpoint-text-ids.ts';
import { CHECKPOINT_DEFAULTS, type CheckpointOptions } from './processor-options.ts';
import { advance, type Steps } from './steps.ts';

/**
 * When the processor checkpoints, and the checkpoint it would resume from (`base`): the latest one
 * restored or saved. A checkpoint is due once `everyEvents` were fed since the base, or `everyMs`
 * passed with at least one new event. Off when the commit target keeps no checkpoints or
 * `everyEvents` is 0.
 */
export class CheckpointSchedule {
  readonly enabled: boolean;
  private readonly everyEvents: number;
  private readonly everyMs: number;
  /** How long one batch may encode a checkpoint (see `CheckpointOptions.sliceMs`). */
  readonly sliceMs: number;
  base: Checkpoint | undefined;
  /** The texts the store keeps beside the base (format 3), and those of the checkpoint being committed. */
  private readonly textIds = new CheckpointTextIds();
  private taken: TakenTextIds | undefined;
  /** The checkpoint being encoded, and once whole, until it is committed. */
  private pending: { readonly steps: Steps<Checkpoint>; done?: Checkpoint } | undefined;
  private lastAt = Date.now();

  constructor(targetKeepsCheckpoints: boolean, options: CheckpointOptions | undefined) {
    const { everyEvents, everyMs, sliceMs } = { ...CHECKPOINT_DEFAULTS, ...options };
    this.everyEvents = everyEvents;
    this.everyMs = everyMs;
    this.sliceMs = sliceMs;
    this.enabled = targetKeepsCheckpoints && everyEvents > 0;
  }

  /** Position of the base checkpoint (0 when none). */
  get position(): number {
    return this.base?.position ?? 0;
  }

  /** Whether a new checkpoint of the open work at `fed` is due (not while one is being encoded). */
  due(fed: number): boolean {
    if (!this.enabled || this.pending !== undefined) return false;
    const since = fed - this.position;
    return since >= this.everyEvents || (since > 0 && Date.now() - this.lastAt >= this.everyMs);
  }

  /**
   * Starts encoding `work` (the open work at `position`, which must not change from here on) as the
   * next checkpoint: format 3 for a store that keeps texts (only the texts new since the base are
   * written), else format 2 (everything in one blob). `advance` goes on with it.
   */
  begin(position: number, settings: string, work: OpenWork, keepsTexts: boolean): void {
    this.drop();
    this.pending = { steps: keepsTexts ? this.keptTextsSteps(position, settings, work) : encodeCheckpointSteps(position, settings, work) };
  }

  private *keptTextsSteps(position: number, settings: string, work: OpenWork): Steps<Checkpoint> {
    this.taken = yield* this.textIds.taking(work.windows.texts);
    return yield* encodeCheckpointKeptTextsSteps(position, settings, work, this.taken);
  }

  /**
   * Encodes on until `deadline` (a `performance.now()` time): the checkpoint once it is whole (to
   * commit with the next batch, and again until `saved`), undefined while it is not (or none was
   * begun). Throws what encoding throws; that checkpoint is dropped.
   */
  advance(deadline: number): Checkpoint | undefined {
    const p = this.pending;
    if (p === undefined || p.done !== undefined) return p?.done;
    try {
      p.done = advance(p.steps, deadline)?.value;
    } catch (error) {
      this.drop();
      throw error;
    }
    return p.done;
  }

  /** Drops the checkpoint being encoded, if any (its texts' ids are not taken). */
  drop(): void {
    this.pending = undefined;
    this.taken = undefined;
  }

  /** A checkpoint was committed: it is the base from now on, its texts the kept ones. */
  saved(checkpoint: Checkpoint): void {
    this.base = checkpoint;
    this.lastAt = Date.now();
    if (checkpoint.texts !== undefined) this.taken?.committed();
    this.drop();
  }

  /** The operators were made again: from a decoded checkpoint (the store keeps its texts), or empty (unknown). */
  rewired(from?: DecodedCheckpoint & { ok: true }): void {
    this.drop();
    if (from?.kept === undefined) this.textIds.reset();
    else this.textIds.restored(from.work.windows.texts, from.kept.ids, from.kept.nextId);
  }

  /** Taking one failed: wait a whole interval before the next try (the previous base stays). */
  failed(): void {
    this.lastAt = Date.now();
  }
}
