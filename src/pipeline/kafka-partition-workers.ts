import type { Batch, Kafka } from 'kafkajs';
import type { LoggedEvent } from '../events/step-event.ts';
import type { TopicNames } from '../kafka/topics.ts';
import type { DeadLetterStore } from '../log/dead-letter-store.ts';
import type { EventLog } from '../log/event-log.ts';
import { KafkaEventLog, parseStored, positionOf } from '../log/kafka-event-log.ts';
import type { Logger } from '../logger.ts';
import { KafkaSessionStateStore } from '../state/kafka-session-state-store.ts';
import type { KafkaStateView } from '../state/kafka-state-view.ts';
import { Processor, type ProcessorOptions } from './processor.ts';

interface Worker {
  readonly processor: Processor;
  readonly store: KafkaSessionStateStore;
  readonly log: EventLog;
  /** The offset after the last one handed to the processor (from `resumeFrom` on): where the next batch must start, at the latest. */
  delivered: number;
  /** Batches handed to the processor (the first is logged: where reading started). */
  batches: number;
  /** The processor's work in order: batches, and the idle checkpoint (one at a time: a processor is not re-entrant). */
  turn: Promise<unknown>;
  /** Checkpoints a caught-up partition's unsaved progress once it has been idle `everyMs` (see `process`). */
  idle: NodeJS.Timeout | undefined;
}

/** Runs `fn` after the worker's earlier work, and before its later work. */
function inTurn<T>(worker: Worker, fn: () => Promise<T>): Promise<T> {
  const run = worker.turn.then(fn, fn);
  worker.turn = run.catch(() => undefined);
  return run;
}

export interface PartitionWorkersOptions {
  readonly kafka: Kafka;
  readonly topics: TopicNames;
  readonly partitions: number;
  /** Transactional ids are `<groupId>-<partition>`: a new owner fences the previous one. */
  readonly groupId: string;
  /** The pipeline's view, scope `assigned`: it holds the state of the partitions this process owns. */
  readonly view: KafkaStateView;
  readonly deadLetters: DeadLetterStore;
  /** Everything a partition's `Processor` shares with the others (windows, metrics, spans, budgets). */
  readonly processing: Omit<ProcessorOptions, 'state' | 'deadLetters' | 'log'>;
  /** Moves the group consumer's next fetch of a partition of the events topic to `offset`. */
  readonly seek: (partition: number, offset: number) => void;
  readonly logger: Logger;
}

/** The offset a fetched batch was asked from (kafkajs keeps it on the batch, untyped); else its first record's. */
const fetchedFrom = (batch: Batch): number => Number((batch as Batch & { fetchedOffset?: string }).fetchedOffset ?? batch.firstOffset() ?? 0);

/**
 * The processors of the partitions this process owns, one per partition, each the same
 * `Processor` as the embedded one over a per-partition `KafkaSessionStateStore`.
 *
 * Takeover without re-reading: on assignment the view re-reads the partition's state (its own
 * records only, see `KafkaStateView`), the worker fences the previous owner, and its processor
 * restores the open work from the partition's checkpoint; the group consumer is then SOUGHT to the
 * checkpoint's position (`resumeFrom`; positions are offsets + 1, so the next offset to read is
 * that number). Without a usable checkpoint `resumeFrom` is 0: the partition is read from the start
 * and effects up to the committed position are suppressed, as before checkpoints. Seeking, rather
 * than committing group offsets in the state transaction (`sendOffsets`): the position lives in one
 * place, the state topic, written in the commit's transaction; falling back to offset 0 needs no
 * second copy to reset; and a group offset could not say "the checkpoint is unusable". The cost is
 * one fetch from offset 0 per newly assigned partition, dropped.
 *
 * Every batch is checked against what the worker was given: a batch fetched from beyond it (a seek
 * of an earlier generation landing late) would leave a hole in the windows, so the consumer is
 * sought back and the batch left; one from before it is fed (the processor skips what it has).
 */
export class PartitionWorkers {
  private readonly o: PartitionWorkersOptions;
  private readonly workers = new Map<number, Promise<Worker>>();
  private readonly faults = new Map<number, string>();
  /** Resolves once the view holds the current assignment (a worker opens after it). */
  private viewAssigned: Promise<void> = Promise.resolve();

  constructor(o: PartitionWorkersOptions) {
    this.o = o;
  }

  /**
   * A group (re)join gave this process `partitions`. Workers of partitions it keeps stay when the
   * member stayed in the group throughout (`continued`: no one else can have owned them in
   * between), with the consumer sought to where each is; the others are closed (with a last
   * checkpoint, when it can still commit). Then the view takes the assignment and the new
   * partitions' workers open at once, in parallel, instead of on their first batch.
   */
  assign(partitions: readonly number[], continued: boolean): void {
    const keep = new Set(continued ? partitions : []);
    const closing: Promise<void>[] = [];
    for (const [partition, w] of this.workers) {
      if (keep.has(partition)) {
        void w.then((worker) => this.o.seek(partition, worker.delivered)).catch(() => undefined);
        continue;
      }
      this.workers.delete(partition);
      this.faults.delete(partition);
      closing.push(
        w.then((worker) => closeWorker(worker)).catch((error: unknown) => this.o.logger.warn('closing a partition worker failed', { partition, error })),
      );
    }
    // Chained: a join that follows another takes effect after it, in order.
    this.viewAssigned = this.viewAssigned
      .then(() => Promise.all(closing))
      .then(() => this.o.view.assign(partitions))
      .catch((error: unknown) => this.o.logger.warn('the state view could not take the assignment', { partitions, error }));
    for (const partition of partitions) void this.worker(partition).catch(() => undefined);
  }

  /**
   * Feeds one fetched batch to its partition's worker; false when the batch was left (the partition
   * was lost or sought while its worker opened, or the batch starts beyond the processor's
   * position). A failure is kept for `/healthz`, then rethrown (kafkajs retries the batch).
   */
  async process(partition: number, batch: Batch, stillOwned: () => boolean, heartbeat: () => Promise<void>): Promise<boolean> {
    try {
      const worker = await heartbeating(this.worker(partition), heartbeat);
      if (!stillOwned()) return false;
      const next = worker.delivered;
      if (fetchedFrom(batch) > next) {
        this.o.seek(partition, next);
        return false;
      }
      const logged: LoggedEvent[] = [];
      for (const m of batch.messages) {
        const pos = positionOf(m.offset);
        if (pos > next && m.value !== null) logged.push({ pos, event: parseStored(m.value.toString()) });
      }
      if (worker.batches++ === 0) this.o.logger.info('partition reading', { partition, fromOffset: fetchedFrom(batch), events: logged.length });
      clearTimeout(worker.idle);
      await heartbeating(
        inTurn(worker, () => worker.processor.process(logged)),
        heartbeat,
      );
      worker.delivered = Math.max(next, positionOf(batch.lastOffset()));
      this.faults.delete(partition);
      // Caught up with the partition: a checkpoint begun and not yet whole is finished now. It
      // waited for the partition's next batch, which may be long in coming: an idle partition kept
      // an older checkpoint, and a takeover re-read more of its log.
      // One that cannot commit now (fenced, broker gone) is left to the next batch, which reports it, or to the close.
      if (positionOf(batch.lastOffset()) >= Number(batch.highWatermark) && stillOwned()) {
        await heartbeating(
          inTurn(worker, () => worker.processor.finishCheckpoint()),
          heartbeat,
        ).catch(() => undefined);
        this.checkpointWhenIdle(partition, worker);
      }
      return true;
    } catch (error) {
      this.faults.set(partition, error instanceof Error ? error.message : String(error));
      throw error;
    }
  }

  /**
   * A caught-up partition with progress no checkpoint holds yet (its last batches came too soon
   * after the previous checkpoint and held fewer than `everyEvents`) is checkpointed once it has
   * been idle `everyMs`, as the schedule would have done with its next batch: a takeover of an idle
   * partition then reads nothing of its log, instead of what came after its last checkpoint. A
   * batch that arrives first cancels it (the schedule goes on with that batch). The pump does the
   * same for the embedded store.
   */
  private checkpointWhenIdle(partition: number, worker: Worker): void {
    const wait = worker.processor.checkpointDueInMs();
    if (wait === undefined) return;
    const current = this.workers.get(partition);
    worker.idle = setTimeout(() => {
      // Not if the partition went to another worker meanwhile (a rebalance): its new owner checkpoints it.
      if (this.workers.get(partition) !== current) return;
      inTurn(worker, async () => {
        await worker.processor.process([]);
        await worker.processor.finishCheckpoint();
      }).catch((error: unknown) => this.o.logger.warn('the checkpoint of an idle partition failed; the next batch tries again', { partition, error }));
    }, wait);
    worker.idle.unref();
  }

  /** The first failing partition worker, as `partition 3: <error>`, or undefined. */
  fault(): string | undefined {
    for (const [partition, message] of this.faults) return `partition ${partition}: ${message}`;
    return undefined;
  }

  /** Stops and closes every worker, each with a last checkpoint, waiting for them (shutdown). */
  async close(): Promise<void> {
    for (const [, w] of this.workers) {
      const worker = await w.catch(() => undefined);
      if (worker !== undefined) await closeWorker(worker);
    }
    this.workers.clear();
  }

  private worker(partition: number): Promise<Worker> {
    let worker = this.workers.get(partition);
    if (worker === undefined) {
      worker = this.open(partition);
      this.workers.set(partition, worker);
      worker.catch(() => {
        if (this.workers.get(partition) === worker) this.workers.delete(partition);
      });
    }
    return worker;
  }

  private async open(partition: number): Promise<Worker> {
    const { kafka, topics, partitions, groupId, view, deadLetters, processing, logger } = this.o;
    const started = performance.now();
    await this.viewAssigned;
    if (!view.holds(partition)) throw new Error(`partition ${partition} is not assigned to this process`);
    // Fences the previous owner, then waits until the view has the partition's records up to now.
    const store = await KafkaSessionStateStore.open({ kafka, topics, partitions, partition, transactionalIdPrefix: groupId, logger, view });
    const caughtUp = performance.now();
    const log = lazyPartitionLog(() => KafkaEventLog.open({ kafka, topic: topics.events, partition, partitions }));
    const processor = new Processor({ ...processing, log, state: store, deadLetters, dedupe: true });
    await processor.restore();
    if (processor.resumeFrom > 0) this.o.seek(partition, processor.resumeFrom);
    logger.info('partition assigned', {
      partition,
      committed: processor.committedPosition,
      resumeFrom: processor.resumeFrom,
      stateMs: Math.round(caughtUp - started),
      restoreMs: Math.round(performance.now() - caughtUp),
    });
    return { processor, store, log, delivered: processor.resumeFrom, batches: 0, turn: Promise.resolve(), idle: undefined };
  }
}

/**
 * Awaits `promise`, heartbeating the group every second meanwhile: kafkajs heartbeats only between
 * batches, and opening a worker (its partition's state re-read) or a commit with a big checkpoint
 * can take longer than the group's session timeout on a busy machine; without heartbeats the
 * member would be dropped and every partition rebalanced. A heartbeat that fails (the group is
 * rebalancing) is left for the batch's own heartbeat after the work, which rejoins: the work itself
 * is never abandoned halfway (a processor takes one batch at a time).
 */
async function heartbeating<T>(promise: Promise<T>, heartbeat: () => Promise<void>): Promise<T> {
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    try {
      const tick = new Promise<typeof TICK>((resolve) => {
        timer = setTimeout(() => resolve(TICK), 1_000);
      });
      const outcome = await Promise.race([promise.then((value) => ({ value })), tick]);
      if (outcome !== TICK) return outcome.value;
    } finally {
      clearTimeout(timer);
    }
    await heartbeat().catch(() => undefined);
  }
}
const TICK = Symbol('tick');

/** A last checkpoint at the committed position (the next owner reads nothing before it), then closes. */
async function closeWorker(worker: Worker): Promise<void> {
  clearTimeout(worker.idle);
  await inTurn(worker, () => worker.processor.checkpointNow()).catch(() => undefined); // fenced or broker gone: the previous checkpoint stays
  worker.processor.stop();
  await Promise.all([worker.store.close(), worker.log.close()]);
}

/**
 * One partition of the events topic as an `EventLog`, opened only when first read: the processor
 * reads it only to isolate an event whose processing threw (rebuilding its windows without it),
 * which is rare, and a `KafkaEventLog` costs a producer and an admin connection.
 */
function lazyPartitionLog(open: () => Promise<KafkaEventLog>): EventLog {
  let opened: Promise<KafkaEventLog> | undefined;
  const log = (): Promise<KafkaEventLog> => (opened ??= open());
  return {
    dedupesOnAppend: false,
    append: async (batch) => (await log()).append(batch),
    read: async function* (options) {
      yield* (await log()).read(options);
    },
    head: async () => (await log()).head(),
    close: async () => {
      if (opened !== undefined) await (await opened).close();
    },
  };
}
