import type { Checkpoint } from '../state/session-state-store.ts';
import { encodeCheckpoint, encodeCheckpointKeptTexts, type DecodedCheckpoint, type OpenWork } from './checkpoint-codec.ts';
import { CheckpointTextIds, type TakenTextIds } from './checkpoint-text-ids.ts';
import { CHECKPOINT_DEFAULTS, type CheckpointOptions } from './processor-options.ts';

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
  base: Checkpoint | undefined;
  /** The texts the store keeps beside the base (format 3), and those of the checkpoint being committed. */
  private readonly textIds = new CheckpointTextIds();
  private taken: TakenTextIds | undefined;
  private lastAt = Date.now();

  constructor(targetKeepsCheckpoints: boolean, options: CheckpointOptions | undefined) {
    const { everyEvents, everyMs } = { ...CHECKPOINT_DEFAULTS, ...options };
    this.everyEvents = everyEvents;
    this.everyMs = everyMs;
    this.enabled = targetKeepsCheckpoints && everyEvents > 0;
  }

  /** Position of the base checkpoint (0 when none). */
  get position(): number {
    return this.base?.position ?? 0;
  }

  /** Whether a checkpoint at `fed` is due with the next commit. */
  due(fed: number): boolean {
    if (!this.enabled) return false;
    const since = fed - this.position;
    return since >= this.everyEvents || (since > 0 && Date.now() - this.lastAt >= this.everyMs);
  }

  /**
   * `work` at `position` as the next checkpoint: format 3 for a store that keeps texts (only the
   * texts new since the base are written), else format 2 (everything in one blob).
   */
  encode(position: number, settings: string, work: OpenWork, keepsTexts: boolean): Checkpoint {
    if (!keepsTexts) return encodeCheckpoint(position, settings, work);
    this.taken = this.textIds.take(work.windows.texts);
    return encodeCheckpointKeptTexts(position, settings, work, this.taken);
  }

  /** A checkpoint was committed: it is the base from now on, its texts the kept ones. */
  saved(checkpoint: Checkpoint): void {
    this.base = checkpoint;
    this.lastAt = Date.now();
    if (checkpoint.texts !== undefined) this.taken?.committed();
    this.taken = undefined;
  }

  /** The operators were made again: from a decoded checkpoint (the store keeps its texts), or empty (unknown). */
  rewired(from?: DecodedCheckpoint & { ok: true }): void {
    if (from?.kept === undefined) this.textIds.reset();
    else this.textIds.restored(from.work.windows.texts, from.kept.ids, from.kept.nextId);
  }

  /** Taking one failed: wait a whole interval before the next try (the previous base stays). */
  failed(): void {
    this.lastAt = Date.now();
  }
}
