import type { SnapshotPin, TurnWindow, TurnWindowSnapshot } from './turn-window.ts';

/**
 * Open windows' snapshots for a checkpoint, each taken when the checkpoint is written rather than
 * when it is taken (`windowTurns`' snapshot with `deferred`): taking ~4,400 open windows' snapshots
 * at once was ~20 ms of the batch a checkpoint was due in (100k events of the bench). A window the
 * checkpoint defers is pinned: before it first changes, it hands this its snapshot as of now (see
 * `TurnWindow.changing`); one that does not change is snapshotted when its stand-in is written.
 * Either way the document holds each window as it was when the checkpoint was taken.
 */
export class DeferredSnapshots implements SnapshotPin {
  private readonly captured = new Map<TurnWindow, TurnWindowSnapshot>();

  /** A stand-in for `w`'s snapshot as of now: `JSON.stringify` writes it as that snapshot. */
  defer(w: TurnWindow): DeferredSnapshot {
    w.pin(this);
    return new DeferredSnapshot(this, w);
  }

  /** From a pinned window, about to change: its snapshot as of the checkpoint. */
  capture(w: TurnWindow, snapshot: TurnWindowSnapshot): void {
    this.captured.set(w, snapshot);
  }

  /** `w`'s snapshot as of the checkpoint: the one it handed over, or its own now (unchanged since). */
  resolve(w: TurnWindow): TurnWindowSnapshot {
    const s = this.captured.get(w);
    if (s !== undefined) {
      this.captured.delete(w);
      return s;
    }
    w.unpin(this);
    return w.snapshot();
  }
}

/** See `DeferredSnapshots.defer`. Resolved once (a second `toJSON` gives the same snapshot). */
export class DeferredSnapshot {
  private readonly owner: DeferredSnapshots;
  private readonly window: TurnWindow;
  private value: TurnWindowSnapshot | undefined;

  constructor(owner: DeferredSnapshots, window: TurnWindow) {
    this.owner = owner;
    this.window = window;
  }

  toJSON(): TurnWindowSnapshot {
    this.value ??= this.owner.resolve(this.window);
    return this.value;
  }
}
