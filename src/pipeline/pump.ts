import type { LoggedEvent } from '../events/step-event.ts';
import type { Logger } from '../logger.ts';
import type { Processor } from './processor.ts';
import { storageFault } from '../log/storage-fault.ts';

export interface PumpOptions {
  /** First wait before retrying failed processing; doubles up to `retryMaxMillis`. Default 100 ms. */
  readonly retryMinMillis?: number;
  /** Longest wait between retries. Default 5 s. */
  readonly retryMaxMillis?: number;
}

/**
 * Events given to the processor in one call (one commit) at most. The processor lets the event
 * loop in while it feeds a batch (`FEED_SLICE_EVENTS`), so appends keep queueing meanwhile: without
 * a bound the next batch held everything that came in, and in the bench's 1M-event run 88 % of the
 * spans were dropped by the span thread's queue, handed over at once. Larger batches are cheaper
 * (fewer commits and hand-overs): against the code before the slices (`bench/ab-commits.ts --base
 * 0bf34ad`), a bound of 8,192 gave +4.5 % events/s (8 pairs), 32,768 +16.8 % (6 pairs), with every
 * span delivered. The bound is also how long aggregates can wait under overload: ~0.5 s at ~60k
 * events/s; at 10k events/s batches stay far below it (p99 event→aggregate 18.9 ms).
 */
export const MAX_BATCH_EVENTS = 32_768;

/**
 * Feeds appended batches to the processor one at a time, in log order, off the request path:
 * ingest acknowledges once the log is durable; aggregation follows right after. Batches queued
 * while the processor is busy are merged, so bursts are processed in large batches (up to
 * `MAX_BATCH_EVENTS`).
 *
 * The processor deals with events that cannot be processed itself (dead letters); what reaches
 * the pump is a fault of the storage (disk full, read-only, I/O error). Then the pump reports the
 * named fault (`fault`, for `/healthz`), logs it once, and retries with backoff until it clears,
 * resuming by itself: the events stay in the log and the processor keeps uncommitted effects, so
 * nothing is lost or counted twice.
 */
export class Pump {
  private readonly processor: Processor;
  private readonly logger: Logger;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;
  private queue: LoggedEvent[] = [];
  private running: Promise<void> | undefined;
  private stopping = false;
  private wake: (() => void) | undefined;
  /** The wait of `checkpointWhenIdle`, and its call to the processor without new events. */
  private idleWait: NodeJS.Timeout | undefined;
  private poked = false;
  /** Ends a wait for checkpoint work when events arrive (see `checkpointWork`). */
  private arrived: (() => void) | undefined;
  /** The error processing is failing with now; `undefined` while it works. */
  failure: Error | undefined;
  /** `failure`, named for operators (e.g. `disk full (SQLITE_FULL)`). */
  fault: string | undefined;

  constructor(processor: Processor, logger: Logger, options: PumpOptions = {}) {
    this.processor = processor;
    this.logger = logger;
    this.retryMinMs = options.retryMinMillis ?? 100;
    this.retryMaxMs = options.retryMaxMillis ?? 5_000;
  }

  push(batch: readonly LoggedEvent[]): void {
    clearTimeout(this.idleWait);
    for (const e of batch) this.queue.push(e);
    this.arrived?.();
    this.running ??= this.drain();
  }

  private async drain(): Promise<void> {
    // Let other appends in the same tick join this batch.
    await new Promise((resolve) => setImmediate(resolve));
    let backoff = this.retryMinMs;
    try {
      while (this.poked || this.queue.length > 0 || (this.failure !== undefined && !this.stopping) || (await this.checkpointWork())) {
        this.poked = false;
        // At most MAX_BATCH_EVENTS a call: the rest waits for the next (see MAX_BATCH_EVENTS).
        const batch = this.queue.length <= MAX_BATCH_EVENTS ? this.queue : this.queue.splice(0, MAX_BATCH_EVENTS);
        if (batch === this.queue) this.queue = [];
        try {
          // After a failure, events of a batch the processor did not get to are read from the log.
          if (this.failure !== undefined) await this.processor.catchUp();
          await this.processor.process(batch);
          if (this.failure !== undefined) this.logger.info('processing resumed', { after: this.fault, processed: this.processor.position });
          this.failure = undefined;
          this.fault = undefined;
          backoff = this.retryMinMs;
        } catch (error) {
          // Given again on the next try: the processor skips what it was fed already.
          this.queue = batch.concat(this.queue);
          const fault = storageFault(error) ?? `${(error as Error).name}: ${(error as Error).message}`;
          if (fault !== this.fault) {
            this.logger.error('processing failed; retrying until the fault clears (events stay in the log, nothing is lost)', { fault, error });
          }
          this.failure = error as Error;
          this.fault = fault;
          if (this.stopping) return;
          await this.sleep(backoff);
          backoff = Math.min(backoff * 2, this.retryMaxMs);
        }
      }
    } finally {
      this.running = undefined;
      if (this.queue.length > 0 && !this.stopping) this.running = this.drain();
      else this.checkpointWhenIdle();
    }
  }

  /**
   * Idle with progress no checkpoint holds (the last batches came too soon after the previous
   * checkpoint, with fewer than `everyEvents`): checkpoints it once it is due by time, as the next
   * batch would have, so a restart after an idle spell reads nothing of the log. New events cancel
   * the wait (the schedule goes on with them).
   */
  private checkpointWhenIdle(): void {
    if (this.stopping || this.failure !== undefined) return;
    const wait = this.processor.checkpointDueInMs();
    if (wait === undefined) return;
    clearTimeout(this.idleWait);
    this.idleWait = setTimeout(() => {
      this.poked = true;
      this.running ??= this.drain();
    }, wait);
    this.idleWait.unref();
  }

  /**
   * Whether to call the processor without new events: a checkpoint it began is not committed yet
   * (encoded a slice per call, staged by the store meanwhile). Waits until it can go on, then lets
   * I/O in first (a slice per turn of the event loop, as with events). New events (or `stop`) end
   * the wait: a staging that takes long (a slow disk) never holds them up.
   */
  private async checkpointWork(): Promise<boolean> {
    const work = this.stopping || this.failure !== undefined ? undefined : this.processor.checkpointWork;
    if (work === undefined) return false;
    await Promise.race([
      work,
      new Promise<void>((resolve) => {
        this.arrived = resolve;
      }),
    ]);
    this.arrived = undefined;
    await new Promise((resolve) => setImmediate(resolve));
    return !this.stopping;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }

  /** Resolves when everything pushed so far has been processed (or, after `stop()`, given up on). */
  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  /**
   * Ends retrying: what is queued is still tried once more, a fault is not waited out (the events
   * stay in the log for the next start). For shutdown.
   */
  stop(): void {
    this.stopping = true;
    clearTimeout(this.idleWait);
    this.wake?.();
    this.arrived?.();
  }
}
