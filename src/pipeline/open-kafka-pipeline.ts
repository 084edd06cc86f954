import { processorOptions, type PipelineOptions } from './pipeline-options.ts';
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { DEFAULT_DECODE_LIMITS } from '../events/decode-event.ts';
import type { PriceTable } from '../events/price-table.ts';
import type { LoggedEvent } from '../events/step-event.ts';
import { createPipelineMetrics, type PipelineMetrics } from '../exporters/pipeline-metrics.ts';
import { createKafka } from '../kafka/create-kafka.ts';
import { ensureTopics, partitionCount, topicNames, type TopicNames } from '../kafka/topics.ts';
import { KafkaDeadLetterStore } from '../log/kafka-dead-letter-store.ts';
import { KafkaEventAppender, KafkaEventLog, parseStored, positionOf } from '../log/kafka-event-log.ts';
import type { EventLog } from '../log/event-log.ts';
import { silentLogger } from '../logger.ts';
import { KafkaSessionStateStore } from '../state/kafka-session-state-store.ts';
import { KafkaStateView } from '../state/kafka-state-view.ts';
import { fanOutAlertSink } from '../exporters/alert-sinks.ts';
import { kafkaAlertSink } from '../exporters/kafka-alert-sink.ts';
import { Ingestor } from './ingestor.ts';
import { Processor } from './processor.ts';

/** Pipeline options plus Kafka's; budget alerts also go to the alerts topic. */
export interface KafkaPipelineOptions extends PipelineOptions {
  readonly brokers: readonly string[];
  readonly prices: PriceTable;
  /** Consumer group; every process of one deployment uses the same. Default `turnstream`. */
  readonly groupId?: string;
  /** Topic name prefix. Default `turnstream` (topics `turnstream.events`, …). */
  readonly topicPrefix?: string;
  /** Partitions for topics created at start (existing topics keep theirs). Default 6. */
  readonly partitions?: number;
  readonly compactedConfig?: Readonly<Record<string, string>>;
}

interface Worker {
  readonly processor: Processor;
  readonly store: KafkaSessionStateStore;
  readonly log: EventLog;
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

export interface KafkaPipeline {
  readonly kafka: Kafka;
  readonly topics: TopicNames;
  readonly partitions: number;
  readonly ingestor: Ingestor;
  readonly view: KafkaStateView;
  readonly metrics: PipelineMetrics | undefined;
  /** Partitions this process owns now. */
  assigned(): number[];
  /** Per owned partition: [processed position, last known end]. */
  progress(): Map<number, { processed: number; end: number }>;
  close(): Promise<void>;
}

/**
 * Kafka mode: HTTP/file ingest produces to the events topic (acknowledged once the broker has
 * it); a consumer group shares the partitions among turnstream processes. A partition's worker is
 * the same `Processor` as the embedded one, over a per-partition `KafkaSessionStateStore`: on
 * assignment it fences the previous owner (transactional id per partition), restores that
 * partition's state and committed position from the compacted state topic, and rebuilds its
 * windows by consuming the partition from the start with effects suppressed up to the committed
 * position. Consumer offsets are never committed: the position lives with the state, in the same
 * transaction as the effects (exactly-once effect without relying on the group's offsets).
 */
export async function openKafkaPipeline(o: KafkaPipelineOptions): Promise<KafkaPipeline> {
  const logger = (o.logger ?? silentLogger).child('kafka');
  const groupId = o.groupId ?? 'turnstream';
  // Connection state for operators: one line when the broker is lost, one when work resumes.
  let disconnected = false;
  const onConnectionError = (): void => {
    if (disconnected) return;
    disconnected = true;
    logger.warn('lost connection to Kafka; retrying (ingest answers 503 meanwhile)', { brokers: o.brokers });
  };
  const reconnected = (): void => {
    if (!disconnected) return;
    disconnected = false;
    logger.info('reconnected to Kafka; catching up', { brokers: o.brokers });
  };
  const kafka = createKafka({ brokers: o.brokers, clientId: groupId }, o.logger ?? silentLogger, onConnectionError);
  const topics = topicNames(o.topicPrefix ?? 'turnstream');
  const admin = kafka.admin();
  await admin.connect();
  let partitions: number;
  try {
    await ensureTopics(admin, topics, { partitions: o.partitions ?? 6, ...(o.compactedConfig === undefined ? {} : { compactedConfig: o.compactedConfig }) });
    partitions = await partitionCount(admin, topics.events);
  } finally {
    await admin.disconnect();
  }
  const metrics = o.telemetry === undefined ? undefined : createPipelineMetrics(o.telemetry.meter, o.telemetry.labelCaps);
  const view = await KafkaStateView.open({ kafka, topics, logger, groupPrefix: groupId });
  const appender = await KafkaEventAppender.open({ kafka, topic: topics.events, partitions });
  const deadLetters = await KafkaDeadLetterStore.open({ kafka, topic: topics.deadLetters, partitions });
  const ingestor = new Ingestor({ log: appender, deadLetters, limits: o.limits ?? DEFAULT_DECODE_LIMITS, ...(metrics === undefined ? {} : { metrics }) });

  const alertSink = o.budgets === undefined ? undefined : fanOutAlertSink([o.budgets.sink, await kafkaAlertSink({ kafka, topic: topics.alerts, partitions, logger })]);
  const workers = new Map<number, Promise<Worker>>();
  const ends = new Map<number, number>();
  let generation = 0;
  let assignment: number[] = [];

  const openWorker = async (partition: number): Promise<Worker> => {
    const store = await KafkaSessionStateStore.open({ kafka, topics, partitions, partition, transactionalIdPrefix: groupId, logger, view });
    const log = lazyPartitionLog(() => KafkaEventLog.open({ kafka, topic: topics.events, partition, partitions }));
    const processor = new Processor({
      ...processorOptions(o, metrics, logger),
      log,
      ...(o.budgets === undefined || alertSink === undefined ? {} : { budgets: { rules: o.budgets.rules, sink: alertSink } }),
      state: store,
      deadLetters,
      dedupe: true,
    });
    await processor.restore();
    logger.info('partition assigned', { partition, committed: processor.committedPosition });
    return { processor, store, log };
  };

  const dropWorkers = (): void => {
    for (const [partition, w] of workers) {
      void w.then((worker) => {
        worker.processor.stop();
        return Promise.all([worker.store.close(), worker.log.close()]);
      }).catch((error: unknown) => logger.warn('closing a partition worker failed', { partition, error }));
    }
    workers.clear();
  };

  const consumer: Consumer = kafka.consumer({ groupId, readUncommitted: false, allowAutoTopicCreation: false, sessionTimeout: 10_000, heartbeatInterval: 1_000, rebalanceTimeout: 30_000 });
  // Every (re)join restarts each assigned partition from offset 0 (no committed offsets): fresh
  // workers rebuild their windows, suppressing what was already committed.
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    generation++;
    dropWorkers();
    assignment = [...(payload.memberAssignment[topics.events] ?? [])].sort((a, b) => a - b);
    reconnected();
    logger.info('joined consumer group', { groupId, assignment: payload.memberAssignment[topics.events] ?? [] });
  });
  let crashed = false;
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    crashed = true;
    logger.error('consumer crashed; restarting', { error: payload.error, restart: payload.restart });
  });
  consumer.on(consumer.events.CONNECT, () => {
    if (crashed) disconnected = true;
    crashed = false;
    reconnected();
  });

  const eachBatch = async ({ batch, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> => {
    reconnected();
    const gen = generation;
    let worker = workers.get(batch.partition);
    if (worker === undefined) {
      worker = openWorker(batch.partition);
      workers.set(batch.partition, worker);
      worker.catch(() => workers.delete(batch.partition));
    }
    const { processor } = await worker;
    ends.set(batch.partition, Number(batch.highWatermark));
    const logged: LoggedEvent[] = [];
    for (const m of batch.messages) if (m.value !== null) logged.push({ pos: positionOf(m.offset), event: parseStored(m.value.toString()) });
    if (!isRunning() || isStale() || gen !== generation) return;
    await processor.process(logged);
    await heartbeat();
  };

  await consumer.connect();
  await consumer.subscribe({ topic: topics.events, fromBeginning: true });
  await consumer.run({ autoCommit: false, eachBatchAutoResolve: true, partitionsConsumedConcurrently: 1, eachBatch });
  // Lag: events in owned partitions beyond the committed position (high watermark − position).
  metrics?.observeLag(() => {
    let lag = 0;
    for (const p of assignment) lag += Math.max(0, (ends.get(p) ?? 0) - (view.positions.get(p) ?? 0));
    return lag;
  });

  let closing: Promise<void> | undefined;
  return {
    kafka,
    topics,
    partitions,
    ingestor,
    view,
    metrics,
    assigned: () => assignment,
    progress: () => {
      const out = new Map<number, { processed: number; end: number }>();
      for (const p of assignment) out.set(p, { processed: view.positions.get(p) ?? 0, end: ends.get(p) ?? 0 });
      return out;
    },
    close: () => {
      closing ??= (async () => {
        await consumer.disconnect();
        for (const [, w] of workers) {
          const worker = await w.catch(() => undefined);
          if (worker === undefined) continue;
          worker.processor.stop();
          await Promise.all([worker.store.close(), worker.log.close()]);
        }
        workers.clear();
        await Promise.all([appender.close(), deadLetters.close(), view.close(), alertSink?.shutdown()]);
        await o.telemetry?.forceFlush();
      })();
      return closing;
    },
  };
}
