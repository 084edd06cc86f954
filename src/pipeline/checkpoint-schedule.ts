import type { Checkpoint } from '../state/session-state-store.ts';
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

  /** A checkpoint was committed: it is the base from now on. */
  saved(checkpoint: Checkpoint): void {
    this.base = checkpoint;
    this.lastAt = Date.now();
  }

  /** Taking one failed: wait a whole interval before the next try (the previous base stays). */
  failed(): void {
    this.lastAt = Date.now();
  }
}
