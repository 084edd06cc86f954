import type { Checkpoint } from '../state/session-state-store.ts';
import { encodeCheckpointKeptTextsSteps, encodeCheckpointSteps, type DecodedCheckpoint, type OpenWork } from './checkpoint-codec.ts';
import { CheckpointTextIds, type TakenTextIds } from './checkpoint-text-ids.ts';
import { CHECKPOINT_DEFAULTS, type CheckpointOptions } from './processor-options.ts';
import { advance, type Steps } from './steps.ts';
import type { Logger } from '../logger.ts';
import { describe } from './batch-effects.ts';

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
  /** Of the time since a checkpoint was taken, the share its encoding may use (see `CheckpointOptions.share`). */
  private readonly share: number;
  base: Checkpoint | undefined;
  /** The texts the store keeps beside the base (format 3), and those of the checkpoint being committed. */
  private readonly textIds = new CheckpointTextIds();
  private taken: TakenTextIds | undefined;
  /** The checkpoint being encoded, and once whole, until it is committed. */
  private pending: Pending | undefined;
  private lastAt = Date.now();

  /** The commit target's `stageCheckpoint`, if it has one: a whole checkpoint is committed once it is staged. */
  private readonly stage: ((c: Checkpoint) => Promise<Checkpoint>) | undefined;
  private readonly target: CheckpointTarget;

  constructor(targetKeepsCheckpoints: boolean, options: CheckpointOptions | undefined, target: CheckpointTarget = { settings: '', keepsTexts: false }) {
    this.target = target;
    this.stage = target.stage;
    const { everyEvents, everyMs, sliceMs, share } = { ...CHECKPOINT_DEFAULTS, ...options };
    this.everyEvents = everyEvents;
    this.everyMs = everyMs;
    this.sliceMs = sliceMs;
    this.share = share;
    this.enabled = targetKeepsCheckpoints && everyEvents > 0;
  }

  /** Position of the base checkpoint (0 when none). */
  get position(): number {
    return this.base?.position ?? 0;
  }

  /**
   * How long until a checkpoint of the progress at `fed` is due by time alone (0: it is due now);
   * undefined when no checkpoint can become due without new events: nothing new since the base, one
   * being encoded, or checkpoints off.
   */
  dueInMs(fed: number): number | undefined {
    if (!this.enabled || this.pending !== undefined || fed <= this.position) return undefined;
    return Math.max(0, this.lastAt + this.everyMs - Date.now());
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
    this.pending = {
      steps: keepsTexts ? this.keptTextsSteps(position, settings, work) : encodeCheckpointSteps(position, settings, work),
      began: performance.now(),
      spent: 0,
    };
  }

  private *keptTextsSteps(position: number, settings: string, work: OpenWork): Steps<Checkpoint> {
    this.taken = yield* this.textIds.taking(work.windows.texts);
    return yield* encodeCheckpointKeptTextsSteps(position, settings, work, this.taken);
  }

  /**
   * Encodes on until `deadline` (a `performance.now()` time): the checkpoint once it is whole and
   * staged (to commit with the next batch, and again until `saved`), undefined while it is not (or
   * none was begun). Throws what encoding or staging threw; that checkpoint is dropped.
   */
  advance(deadline: number): Checkpoint | undefined {
    const p = this.pending;
    if (p === undefined) return undefined;
    try {
      const from = performance.now();
      const finishing = deadline === Number.POSITIVE_INFINITY;
      if (p.encoded === undefined && (finishing || this.credit(p, from) >= 0)) {
        p.encoded = advance(p.steps, finishing ? deadline : Math.min(deadline, from + this.credit(p, from)))?.value;
        p.spent += performance.now() - from;
        if (p.encoded !== undefined && this.stage !== undefined) {
          p.staging = this.stage(p.encoded).then(
            (c) => {
              p.staged = c;
              if (this.pending !== p) this.target.unstage?.(c); // dropped while it was staged
            },
            (error: unknown) => {
              p.failed = { error };
            },
          );
        }
      }
      if (p.failed !== undefined) throw p.failed.error;
    } catch (error) {
      this.drop();
      throw error;
    }
    return this.stage === undefined ? p.encoded : p.staged;
  }

  /**
   * How much encoding time the checkpoint may use now (negative: none until it is earned): its
   * share of the time since it was taken, plus one slice, less what it used.
   */
  private credit(p: Pending, now: number): number {
    return this.share * (now - p.began) + this.sliceMs - p.spent;
  }

  /** When the checkpoint begun can go on (see `Processor.checkpointWork`); undefined when none was begun. */
  nextStep(): Promise<void> | undefined {
    const p = this.pending;
    if (p === undefined) return undefined;
    if (p.staging !== undefined) return p.staged === undefined && p.failed === undefined ? p.staging : Promise.resolve();
    // Its share used up: wait until it has earned some time again.
    const wait = -this.credit(p, performance.now()) / this.share;
    return wait <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, Math.ceil(wait)));
  }

  /** `advance` to the end, waiting for the staging: the checkpoint to commit, if one was begun. */
  async whole(): Promise<Checkpoint | undefined> {
    this.advance(Number.POSITIVE_INFINITY);
    await this.pending?.staging;
    return this.advance(Number.POSITIVE_INFINITY);
  }

  /**
   * The checkpoint to commit now, if one is whole: begins one of `work()` at `position` first when
   * `begin`, then encodes on for `forMs`. Never throws: a failure is logged, the previous base stays.
   */
  take(begin: boolean, position: number, work: () => OpenWork, forMs: number): Checkpoint | undefined {
    try {
      if (begin) this.begin(position, this.target.settings, work(), this.target.keepsTexts);
      return this.advance(performance.now() + forMs);
    } catch (error) {
      this.takingFailed(error);
      return undefined;
    }
  }

  /** A checkpoint of `work()` at `position`, whole and staged (a clean stop's), in place of any begun. */
  async takeNow(position: number, work: () => OpenWork): Promise<Checkpoint | undefined> {
    try {
      return this.take(true, position, work, Number.POSITIVE_INFINITY) ?? (await this.whole());
    } catch (error) {
      this.takingFailed(error);
      return undefined;
    }
  }

  private takingFailed(error: unknown): void {
    // Never a reason to stop processing: the previous checkpoint stays, a restart reads more log.
    this.target.logger?.warn('taking a checkpoint failed; the previous one stays', { error: describe(error) });
    this.failed();
  }

  /** Drops the checkpoint being encoded, if any (its texts' ids are not taken; its staged files go). */
  drop(): void {
    const staged = this.pending?.staged;
    this.forget();
    if (staged !== undefined) this.target.unstage?.(staged);
  }

  private forget(): void {
    this.pending = undefined;
    this.taken = undefined;
  }

  /** A checkpoint was committed: it is the base from now on, its texts the kept ones. */
  saved(checkpoint: Checkpoint): void {
    this.base = checkpoint;
    this.lastAt = Date.now();
    if (checkpoint.texts !== undefined) this.taken?.committed();
    this.forget(); // its staged files are the committed ones now
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

/** A checkpoint on its way: encoded in steps, then staged by the target (if it stages). */
interface Pending {
  readonly steps: Steps<Checkpoint>;
  /** When it was taken (`performance.now()`), and the time spent encoding it since. */
  readonly began: number;
  spent: number;
  encoded?: Checkpoint;
  staging?: Promise<void>;
  staged?: Checkpoint;
  failed?: { readonly error: unknown };
}

/** What the processor's checkpoints are for: its settings, whether its store keeps texts or stages, where failures are logged. */
export interface CheckpointTarget {
  readonly settings: string;
  readonly keepsTexts: boolean;
  readonly stage?: (c: Checkpoint) => Promise<Checkpoint>;
  /** Removes what `stage` wrote for a checkpoint that will not be committed. */
  readonly unstage?: (c: Checkpoint) => void;
  readonly logger?: Logger;
}
