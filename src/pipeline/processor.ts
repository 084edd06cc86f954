import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { LoggedEvent } from '../events/step-event.ts';
import type { Checkpoint } from '../state/session-state-store.ts';
import { TURN_WINDOW_DEFAULTS } from '../streams/window-turns.ts';
import { nonFinite, nonFiniteRecord, screenLoggedEvent } from './screen-logged-event.ts';
import { storageFault } from '../log/storage-fault.ts';
import { LogTrimmedError } from '../log/log-trimmed.ts';
import { TurnstreamError } from '../errors.ts';
import { describe, FeedFault, noEffects, type BatchEffects } from './batch-effects.ts';
import { PipelineLetters } from './pipeline-letters.ts';
import { decodeCheckpoint, type DecodedCheckpoint, type OpenWork } from './checkpoint-codec.ts';
import { StoreClosedTurns } from './store-closed-turns.ts';
import { wireOperators, type WiredOperators } from './wire-operators.ts';
import { FEED_SLICE_EVENTS, type ProcessorOptions } from './processor-options.ts';
import { CheckpointSchedule } from './checkpoint-schedule.ts';
import { CommittedEffects } from './committed-effects.ts';

export type { BatchEffects } from './batch-effects.ts';

export { CHECKPOINT_DEFAULTS, type CheckpointOptions, type ProcessorOptions } from './processor-options.ts';

/**
 * Runs the stream operators over log batches and makes their effects durable: state writes,
 * roll-up deltas and turn aggregates are committed with the batch's last log position in one
 * transaction; then spans and metrics are exported and late events dead-lettered.
 *
 * Exactly-once effect: on `start()` the processor restores its open work from the latest
 * checkpoint (committed with an earlier batch, every `checkpoints.everyEvents` events or
 * `everyMs`), or rebuilds it from the start of the log when there is none it can use, then reads the
 * log after that point, suppressing every effect at or below the committed position; a restart after
 * a crash neither loses nor double-counts, and costs the open work plus the events since the last
 * checkpoint, not the history. Batches must be given in log order.
 *
 * No poison pill: an event that cannot be processed is dead-lettered as `processing_error` and
 * skipped; the events around it are processed as if it were not in the log. Most such events are
 * caught before they reach the operators (`screenLoggedEvent`, deterministic, so a restart skips the
 * same ones). Anything else that throws while feeding or committing a batch, except a storage
 * fault, makes the processor isolate the event at fault: it rebuilds its windows from the log up to
 * the committed position and processes the rest event by event, each with its own commit; the one
 * that throws is dead-lettered and skipped. A storage fault (disk full, read-only, I/O) is thrown
 * to the caller with the batch's effects kept: a later `process` call (even with no events)
 * commits them, so retrying after the fault clears loses nothing.
 */
export class Processor {
  private readonly options: ProcessorOptions;
  private ops: WiredOperators;
  private effects: BatchEffects = noEffects();
  /** Exports, alerts and dead letters of committed batches. */
  private readonly out: CommittedEffects;
  /** Log position whose effects are durable. Effects at or below it are suppressed. */
  private committed = 0;
  /** Last position fed to the operators. */
  private fed = 0;
  /** What the operators threw while the current event was fed. */
  private fault: { readonly error: unknown } | undefined;
  /** Events found to be at fault in this process (by position): skipped whenever the log is re-fed. */
  private readonly poisoned = new Map<number, string>();
  private readonly closedTurns: StoreClosedTurns;
  private readonly letters: PipelineLetters;
  /** When to checkpoint, and the checkpoint a rebuild starts from. */
  private readonly checkpoints: CheckpointSchedule;
  /** Why the last `restore()` rebuilds from the start of the log instead of a checkpoint. */
  private rebuilding: string | undefined;
  /** What every checkpoint is tied to: open work made under other settings cannot be continued. */
  private readonly settings: string;
  /** Events dead-lettered as `processing_error` since start (for the health endpoint and logs). */
  rejected = 0;

  constructor(options: ProcessorOptions) {
    this.options = options;
    this.closedTurns = new StoreClosedTurns(options.state, () => this.committed);
    this.letters = new PipelineLetters(options.rawAt);
    this.out = new CommittedEffects(options);
    this.settings = JSON.stringify({
      windows: { ...TURN_WINDOW_DEFAULTS, ...options.windows },
      dedupe: options.dedupe === true,
      budgets: options.budgets?.rules ?? [],
    });
    this.checkpoints = new CheckpointSchedule(options.state.checkpoint !== undefined, options.checkpoints, {
      settings: this.settings,
      get keepsTexts() {
        return options.state.keepsCheckpointTexts === true; // read per checkpoint, as the store says then
      },
      ...(options.state.stageCheckpoint === undefined ? {} : { stage: options.state.stageCheckpoint.bind(options.state) }),
      ...(options.state.unstageCheckpoint === undefined ? {} : { unstage: options.state.unstageCheckpoint.bind(options.state) }),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
    });
    this.ops = this.wire();
  }

  /** (Re)creates the operators, from `work` or empty; false when `work` could not be restored. */
  private wire(work?: Omit<OpenWork, 'poisoned'>): WiredOperators {
    this.ops?.complete();
    if (work === undefined) this.checkpoints.rewired();
    const fault = this.takeFault();
    if (fault !== undefined) this.options.logger?.warn('an operator failed while it was replaced', { error: describe(fault.error) });
    return wireOperators(
      {
        options: this.options,
        closedTurns: this.closedTurns,
        committed: () => this.committed,
        fed: () => this.fed,
        effects: () => this.effects,
        fault: (error) => {
          this.fault ??= { error };
        },
        duplicateLetter: (logged) => this.letters.duplicate(logged),
        rawOf: (logged) => this.letters.rawOf(logged),
      },
      work,
    );
  }

  get position(): number {
    return this.fed;
  }

  /** Rebuilds windows from the log and catches up to its head. Resolves when caught up. */
  async start(): Promise<void> {
    await this.restore();
    try {
      await this.catchUp();
    } catch (error) {
      if (!(error instanceof LogTrimmedError) || this.rebuilding === undefined) throw error;
      throw new TurnstreamError(
        `cannot start: the open work must be rebuilt from the start of the log (${this.rebuilding}), but ${error.message}. Start with the settings the checkpoint was written with, or with a new --data-dir`,
        { retriable: false },
      );
    }
  }

  /**
   * Reads the committed position and restores the open work from the latest usable checkpoint
   * (else starts empty, to rebuild from the start of the log: one log line says why). After it,
   * the processor needs the log after `resumeFrom` only; sources that deliver the log themselves (a
   * Kafka consumer) start there.
   */
  async restore(): Promise<void> {
    this.committed = await this.options.state.position();
    const t0 = performance.now();
    const stored = await this.options.state.checkpoint?.();
    const t1 = performance.now();
    const decoded = decodeCheckpoint(stored, this.settings, this.committed);
    const t2 = performance.now();
    if (decoded.ok && this.restoreFrom(decoded)) {
      this.checkpoints.base = stored;
      this.rebuilding = undefined;
      const ms = (a: number, b: number): number => Math.round(b - a);
      const took = { readMs: ms(t0, t1), decodeMs: ms(t1, t2), restoreMs: ms(t2, performance.now()), bytes: stored?.data.byteLength };
      this.options.logger?.info('restored open work from checkpoint', { position: decoded.position, committed: this.committed, ...took });
      return;
    }
    this.ops = this.wire();
    this.fed = 0;
    this.checkpoints.base = undefined;
    this.rebuilding = decoded.ok ? 'the checkpoint could not be restored' : decoded.reason;
    if (this.committed > 0 && this.options.state.checkpoint !== undefined) {
      const reason = this.rebuilding;
      this.options.logger?.warn('rebuilding open work from the start of the log', { reason, committed: this.committed });
    }
    // Rebuilt elsewhere (by shard, on several threads), it is restored as from a checkpoint at the committed position.
    const work = this.committed > 0 ? await this.options.rebuildFromStart?.(this.committed) : undefined;
    if (work !== undefined && !this.restoreFrom({ ok: true, position: this.committed, work: { ...work, poisoned: [] } })) this.ops = this.wire();
  }

  /** Rewires the operators from a decoded checkpoint; false (and empty operators) when that fails. */
  private restoreFrom(decoded: DecodedCheckpoint & { ok: true }): boolean {
    const { position, work } = decoded;
    this.ops = this.wire(work);
    const fault = this.takeFault();
    if (fault !== undefined) {
      this.options.logger?.warn('the checkpoint could not be restored', { position, error: describe(fault.error) });
      return false;
    }
    this.fed = position;
    for (const [pos, message] of work.poisoned) this.poisoned.set(pos, message);
    this.checkpoints.rewired(decoded);
    return true;
  }

  /** The position after which this processor needs the log (valid after `restore()`). */
  get resumeFrom(): number {
    return this.fed;
  }

  /** Position of the checkpoint a restart would resume from (0 when none): the log after it must stay. */
  get checkpointPosition(): number {
    return this.checkpoints.position;
  }

  /** Log position whose effects are durable. */
  get committedPosition(): number {
    return this.committed;
  }

  /** Reads and processes whatever the log holds beyond what was fed (e.g. after external appends). */
  async catchUp(): Promise<void> {
    if (this.options.log === undefined) return;
    for await (const batch of this.options.log.read({ after: this.fed })) await this.process(batch);
  }

  /**
   * Feeds one batch (in log order) and makes its effects durable and exported. Throws only for a
   * storage fault (see the class comment), or where there is no log to isolate a poison event with.
   */
  async process(batch: readonly LoggedEvent[]): Promise<BatchEffects> {
    try {
      return await this.processOnce(batch);
    } catch (error) {
      if (storageFault(error) !== undefined || this.options.log === undefined) throw error;
      return await this.isolate(Math.max(this.fed, batch.at(-1)?.pos ?? 0), error);
    }
  }

  private feed(logged: LoggedEvent): void {
    if (logged.pos <= this.fed) return; // already fed: idempotent on overlap
    this.fed = logged.pos;
    const rejected = this.poisoned.get(logged.pos) ?? screenLoggedEvent(logged.event);
    if (rejected !== undefined) {
      this.poisoned.set(logged.pos, rejected);
      if (logged.pos > this.committed) this.reject(logged, rejected);
      return;
    }
    this.fault = undefined;
    this.ops.input.next(logged);
    const fault = this.takeFault();
    if (fault !== undefined) throw new FeedFault(logged.pos, fault.error);
  }

  private takeFault(): { readonly error: unknown } | undefined {
    const fault = this.fault;
    this.fault = undefined;
    return fault;
  }

  private reject(logged: LoggedEvent, message: string): void {
    const e = logged.event as unknown as Record<string, unknown>;
    this.rejected++;
    this.options.logger?.warn('event cannot be processed; dead-lettered as processing_error, processing goes on', {
      pos: logged.pos,
      eventId: e['id'],
      error: message,
    });
    this.effects.letters.push(this.letters.processingError(logged, message));
  }

  private async processOnce(batch: readonly LoggedEvent[]): Promise<BatchEffects> {
    await this.out.flushLetters();
    this.closedTurns.prefetch(batch);
    const slice = this.options.feedSliceEvents ?? FEED_SLICE_EVENTS;
    for (let i = 0; i < batch.length; i++) {
      // Calls are sequential (the pump, a partition's turn): nothing else feeds or commits meanwhile.
      if (i > 0 && i % slice === 0) await yieldToLoop();
      this.feed(batch[i]!);
    }
    const effects = this.effects;
    this.effects = noEffects();
    if (this.fed <= this.committed) {
      await this.commitCheckpointAlone();
      return effects;
    }
    // The stores keep each turn's record (`turnRecord`: no call lists, no `supersedes`): the
    // aggregates go as they are. Never commit a non-finite number: JSON would store it as null and
    // every reader would break.
    const turns = effects.aggregates;
    const bad = nonFinite(effects.deltas) ?? nonFiniteRecord(turns);
    if (bad !== undefined) throw new RangeError(`the batch's totals would hold ${bad}`);
    const checkpoint = this.dueCheckpoint();
    try {
      await this.options.state.commit({
        writes: effects.writes,
        deltas: effects.deltas,
        turns,
        position: this.fed,
        ...(checkpoint === undefined ? {} : { checkpoint }),
      });
    } catch (error) {
      // Kept for the next call: with a storage fault the caller retries, and a later batch commits
      // these effects along with its own (nothing was fed since: calls are sequential).
      this.effects = effects;
      throw error;
    }
    this.committed = this.fed;
    this.closedTurns.committed();
    if (checkpoint !== undefined) this.checkpoints.saved(checkpoint);
    await this.out.deliver(effects);
    return effects;
  }

  /**
   * Finds and skips the event at fault after a batch failed with `error` (not a storage fault):
   * rebuilds the windows up to the committed position, then processes the log event by event up
   * to `target`, each with its own commit; an event whose processing throws is dead-lettered.
   */
  private async isolate(target: number, error: unknown): Promise<BatchEffects> {
    this.options.logger?.warn('processing a batch failed; isolating the event at fault', { error: describe(error), committed: this.committed, target });
    if (error instanceof FeedFault) this.poisoned.set(error.pos, describe(error.cause));
    await this.rebuild();
    const all = noEffects();
    for await (const batch of this.options.log!.read({ after: this.committed, batchSize: 500 })) {
      for (const logged of batch) {
        if (logged.pos > target) return all;
        let effects: BatchEffects;
        try {
          effects = await this.processOnce([logged]);
        } catch (single) {
          if (storageFault(single) !== undefined) throw single;
          this.poisoned.set(logged.pos, describe(single instanceof FeedFault ? single.cause : single));
          await this.rebuild();
          effects = await this.processOnce([logged]); // now rejected by `feed`: commits its dead letter
        }
        for (const k of Object.keys(all) as (keyof BatchEffects)[]) (all[k] as unknown[]).push(...effects[k]);
      }
    }
    return all;
  }

  /**
   * Operators as of the committed position (effects suppressed): restored from the base checkpoint
   * and fed the log after it, or fresh and fed the log from the start.
   */
  private async rebuild(): Promise<void> {
    for (;;) {
      const stored = this.checkpoints.base;
      const base = stored === undefined ? undefined : decodeCheckpoint(stored, this.settings, this.committed);
      if (base?.ok !== true || !this.restoreFrom(base)) {
        this.checkpoints.base = undefined;
        this.ops = this.wire();
        this.fed = 0;
      }
      this.effects = noEffects();
      try {
        read: for await (const batch of this.options.log!.read({ after: this.fed })) {
          this.closedTurns.prefetch(batch);
          for (const logged of batch) {
            if (logged.pos > this.committed) break read;
            this.feed(logged);
          }
        }
        this.fed = Math.max(this.fed, this.committed);
        this.effects = noEffects();
        return;
      } catch (error) {
        if (!(error instanceof FeedFault)) throw error;
        // Processed (and committed) by an earlier run, but it throws now: skip it from here on.
        this.poisoned.set(error.pos, describe(error.cause));
      }
    }
  }

  /**
   * The checkpoint to commit with this batch, if one is whole: one due now is begun (the open work
   * as of `fed`, snapshotted now) and encoded for at most `sliceMs` of each batch from here on.
   */
  private dueCheckpoint(): Checkpoint | undefined {
    return this.checkpoints.take(this.checkpoints.due(this.fed), this.fed, () => this.openWork(), this.checkpoints.sliceMs);
  }

  /** The open work as of `fed`; deferred: open windows are snapshotted as the encoding reaches them (or before they change). */
  private openWork(): OpenWork {
    const poisoned = [...this.poisoned].filter(([pos]) => pos > this.fed);
    return { ...this.ops.snapshot({ deferred: true }), poisoned };
  }

  /**
   * A checkpoint begun and not committed yet, and no new event to commit it with (see
   * `checkpointWork`): encodes on, and commits it alone once it is whole (at the committed position).
   */
  private async commitCheckpointAlone(): Promise<void> {
    if (this.fed === this.committed) await this.commitAlone(this.dueCheckpoint());
  }

  /** Commits `checkpoint` (if any) with no effects, at the committed position. */
  private async commitAlone(checkpoint: Checkpoint | undefined): Promise<void> {
    if (checkpoint === undefined) return;
    await this.options.state.commit({ writes: [], deltas: [], turns: [], position: this.committed, checkpoint });
    this.checkpoints.saved(checkpoint);
  }

  /**
   * Resolves when a checkpoint begun and not committed yet can go on (at once while it is being
   * encoded, once staged while the store stages it): the pump then calls `process([])` to go on
   * without waiting for new events. Undefined when there is none.
   */
  get checkpointWork(): Promise<void> | undefined {
    return this.checkpoints.nextStep();
  }

  /** Idle source: ms until committed progress no checkpoint holds is due for one (then `process([])`, `finishCheckpoint`); undefined: none. */
  checkpointDueInMs(): number | undefined {
    return this.fed === this.committed ? this.checkpoints.dueInMs(this.fed) : undefined;
  }

  /** Drives a begun checkpoint to its commit now, without new events (a source that has caught up). */
  async finishCheckpoint(): Promise<void> {
    for (let work = this.checkpointWork; work !== undefined; work = this.checkpointWork) {
      await work;
      await this.process([]);
    }
  }

  /**
   * Checkpoints the open work at the committed position now (a clean shutdown: the next start reads
   * nothing of the log). Only when everything fed is committed and something changed since the last.
   */
  async checkpointNow(): Promise<void> {
    if (!this.checkpoints.enabled || this.fed !== this.committed || this.fed <= this.checkpoints.position) return;
    // One begun earlier is of an older position: this one replaces it (a restart then reads nothing).
    await this.commitAlone(await this.checkpoints.takeNow(this.fed, () => this.openWork()));
  }

  /** Completes the operators. Open turns stay open in the log (and in the last checkpoint); a restart restores them. */
  stop(): void {
    this.ops.complete();
  }
}
