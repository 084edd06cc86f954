import type { Kafka } from 'kafkajs';
import type { LoggedEvent } from '../events/step-event.ts';
import type { TopicNames } from '../kafka/topics.ts';
import type { DeadLetterStore } from '../log/dead-letter-store.ts';
import type { EventLog } from '../log/event-log.ts';
import { KafkaEventLog } from '../log/kafka-event-log.ts';
import type { Logger } from '../logger.ts';
import { KafkaSessionStateStore } from '../state/kafka-session-state-store.ts';
import type { KafkaStateView } from '../state/kafka-state-view.ts';
import { Processor, type ProcessorOptions } from './processor.ts';

interface Worker {
  readonly processor: Processor;
  readonly store: KafkaSessionStateStore;
  readonly log: EventLog;
}

export interface PartitionWorkersOptions {
  readonly kafka: Kafka;
  readonly topics: TopicNames;
  readonly partitions: number;
  /** Transactional ids are `<groupId>-<partition>`: a new owner fences the previous one. */
  readonly groupId: string;
  readonly view: KafkaStateView;
  readonly deadLetters: DeadLetterStore;
  /** Everything a partition's `Processor` shares with the others (windows, metrics, spans, budgets). */
  readonly processing: Omit<ProcessorOptions, 'state' | 'deadLetters' | 'log'>;
  readonly logger: Logger;
}

/**
 * The processors of the partitions this process owns, one per partition, each the same
 * `Processor` as the embedded one over a per-partition `KafkaSessionStateStore`. A worker opens on
 * its partition's first batch: it fences the previous owner, restores that partition's state and
 * committed position from the compacted state topic, and its processor suppresses effects up to
 * that position while the batches from offset 0 rebuild its windows.
 */
export class PartitionWorkers {
  private readonly o: PartitionWorkersOptions;
  private readonly workers = new Map<number, Promise<Worker>>();
  private readonly faults = new Map<number, string>();

  constructor(o: PartitionWorkersOptions) {
    this.o = o;
  }

  /**
   * Feeds one fetched batch to its partition's worker; false when the partition was lost while its
   * worker opened (the batch is left to the next owner). A failure is kept for `/healthz`, then
   * rethrown (kafkajs retries the batch).
   */
  async process(partition: number, logged: LoggedEvent[], stillOwned: () => boolean): Promise<boolean> {
    try {
      const { processor } = await this.worker(partition);
      if (!stillOwned()) return false;
      await processor.process(logged);
      this.faults.delete(partition);
      return true;
    } catch (error) {
      this.faults.set(partition, error instanceof Error ? error.message : String(error));
      throw error;
    }
  }

  /** The first failing partition worker, as `partition 3: <error>`, or undefined. */
  fault(): string | undefined {
    for (const [partition, message] of this.faults) return `partition ${partition}: ${message}`;
    return undefined;
  }

  /** Lets go of every worker (a rebalance: whoever owns a partition next rebuilds it), in the background. */
  dropAll(): void {
    for (const [partition, w] of this.workers) {
      void w.then((worker) => closeWorker(worker)).catch((error: unknown) => this.o.logger.warn('closing a partition worker failed', { partition, error }));
    }
    this.workers.clear();
    this.faults.clear();
  }

  /** Stops and closes every worker, waiting for them (shutdown). */
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
      worker.catch(() => this.workers.delete(partition));
    }
    return worker;
  }

  private async open(partition: number): Promise<Worker> {
    const { kafka, topics, partitions, groupId, view, deadLetters, processing, logger } = this.o;
    const store = await KafkaSessionStateStore.open({ kafka, topics, partitions, partition, transactionalIdPrefix: groupId, logger, view });
    const log = lazyPartitionLog(() => KafkaEventLog.open({ kafka, topic: topics.events, partition, partitions }));
    const processor = new Processor({ ...processing, log, state: store, deadLetters, dedupe: true });
    await processor.restore();
    logger.info('partition assigned', { partition, committed: processor.committedPosition });
    return { processor, store, log };
  }
}

async function closeWorker(worker: Worker): Promise<void> {
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
