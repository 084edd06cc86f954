import { processorOptions, type PipelineOptions } from './pipeline-options.ts';
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { DEFAULT_DECODE_LIMITS } from '../events/decode-event.ts';
import type { PriceTable } from '../events/price-table.ts';
import type { LoggedEvent } from '../events/step-event.ts';
import { createPipelineMetrics, type PipelineMetrics } from '../exporters/pipeline-metrics.ts';
import { ensureTopics, partitionCount, topicNames, type TopicNames } from '../kafka/topics.ts';
import type { EventLog } from '../log/event-log.ts';
import { KafkaDeadLetterStore } from '../log/kafka-dead-letter-store.ts';
import { KafkaEventAppender, parseStored, positionOf } from '../log/kafka-event-log.ts';
import { silentLogger, type Logger } from '../logger.ts';
import { KafkaStateView } from '../state/kafka-state-view.ts';
import { fanOutAlertSink } from '../exporters/alert-sinks.ts';
import { kafkaAlertSink } from '../exporters/kafka-alert-sink.ts';
import { Ingestor } from './ingestor.ts';
import { openKafkaConnection, type KafkaConnection } from './kafka-connection.ts';
import { PartitionWorkers } from './kafka-partition-workers.ts';
import { KafkaProgress } from './kafka-progress.ts';

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

export interface KafkaHealth {
  readonly ok: boolean;
  readonly status: string;
  readonly mode: 'kafka';
  readonly assigned: readonly number[];
  readonly processed: number;
  readonly lag: number;
  /** What is failing: `kafka: broker unreachable (…)`, `kafka: consumer crashed: …`, `ingest: …`, `processing: partition 3: …`. */
  readonly fault?: string;
}

export interface KafkaPipeline {
  readonly kafka: Kafka;
  readonly topics: TopicNames;
  readonly partitions: number;
  readonly ingestor: Ingestor;
  readonly view: KafkaStateView;
  readonly deadLetters: KafkaDeadLetterStore;
  readonly metrics: PipelineMetrics | undefined;
  /** Partitions this process owns now. */
  assigned(): number[];
  /** Per owned partition: [processed position, last known end]. */
  progress(): Map<number, { processed: number; end: number }>;
  /** Events processed in owned partitions (the sum of their committed positions). */
  processed(): number;
  /** Ready or not, with the named fault: the broker unreachable, the consumer down, ingest or a partition worker failing. */
  health(): KafkaHealth;
  close(): Promise<void>;
}

/**
 * Kafka mode: HTTP/file ingest produces to the events topic (acknowledged once the broker has
 * it); a consumer group shares the partitions among turnstream processes, each partition processed
 * by its worker (`PartitionWorkers`). Every (re)join restarts each assigned partition from offset
 * 0: consumer offsets are never committed, the position lives with the state, in the same
 * transaction as the effects (exactly-once effect without relying on the group's offsets).
 */
// long: wiring only (connection, workers, progress, ingest, health): one dependency per statement, in start-up order
export async function openKafkaPipeline(o: KafkaPipelineOptions): Promise<KafkaPipeline> {
  const logger = (o.logger ?? silentLogger).child('kafka');
  const groupId = o.groupId ?? 'turnstream';
  const connection = openKafkaConnection({ brokers: o.brokers, groupId, clientLogger: o.logger ?? silentLogger, logger });
  const { kafka } = connection;
  const topics = topicNames(o.topicPrefix ?? 'turnstream');
  const partitions = await prepareTopics(kafka, topics, o);
  const metrics = o.telemetry === undefined ? undefined : createPipelineMetrics(o.telemetry.meter, o.telemetry.labelCaps);
  const view = await KafkaStateView.open({ kafka, topics, logger, groupPrefix: groupId });
  const appender = await KafkaEventAppender.open({ kafka, topic: topics.events, partitions });
  const deadLetters = await KafkaDeadLetterStore.open({ kafka, topic: topics.deadLetters, partitions });
  // Produce outcomes feed `/healthz`: not ready while ingest cannot produce.
  const log: Pick<EventLog, 'append'> = {
    append: async (batch) => {
      try {
        const outcomes = await appender.append(batch);
        connection.produced();
        return outcomes;
      } catch (error) {
        connection.produced(error);
        throw error;
      }
    },
  };
  const ingestor = new Ingestor({ log, deadLetters, limits: o.limits ?? DEFAULT_DECODE_LIMITS, ...(metrics === undefined ? {} : { metrics }) });
  const alertSink =
    o.budgets === undefined ? undefined : fanOutAlertSink([o.budgets.sink, await kafkaAlertSink({ kafka, topic: topics.alerts, partitions, logger })]);
  const processing = processorOptions(o, metrics, logger);
  const workers = new PartitionWorkers({
    kafka,
    topics,
    partitions,
    groupId,
    view,
    deadLetters,
    logger,
    processing: { ...processing, ...(o.budgets === undefined || alertSink === undefined ? {} : { budgets: { rules: o.budgets.rules, sink: alertSink } }) },
  });
  const progress = new KafkaProgress(view.positions);
  const consumer = await runConsumer({ kafka, topics, groupId, workers, progress, connection, logger });
  metrics?.observeLag(() => progress.lag());

  let closing: Promise<void> | undefined;
  return {
    kafka,
    topics,
    partitions,
    ingestor,
    view,
    deadLetters,
    metrics,
    assigned: () => progress.assigned(),
    progress: () => progress.progress(),
    processed: () => progress.processed(),
    health: () => kafkaHealth(connection, workers, progress),
    close: () => {
      closing ??= (async () => {
        connection.closing();
        await consumer.disconnect();
        await workers.close();
        await Promise.all([appender.close(), deadLetters.close(), view.close(), alertSink?.shutdown()]);
        await o.telemetry?.forceFlush();
      })();
      return closing;
    },
  };
}

/** The connection's fault first (it explains a worker's), else the first failing partition worker's. */
function kafkaHealth(connection: KafkaConnection, workers: PartitionWorkers, progress: KafkaProgress): KafkaHealth {
  const c = connection.fault();
  const worker = workers.fault();
  const fault = c?.fault ?? (worker === undefined ? undefined : `processing: ${worker}`);
  const status = c?.status ?? (worker === undefined ? 'ok' : 'processing failing');
  return {
    ok: fault === undefined,
    status,
    mode: 'kafka',
    assigned: progress.assigned(),
    processed: progress.processed(),
    lag: progress.lag(),
    ...(fault === undefined ? {} : { fault }),
  };
}

/** Creates the topics when missing (existing ones keep their partitions); resolves to the events topic's partition count. */
async function prepareTopics(kafka: Kafka, topics: TopicNames, o: KafkaPipelineOptions): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, topics, { partitions: o.partitions ?? 6, ...(o.compactedConfig === undefined ? {} : { compactedConfig: o.compactedConfig }) });
    return await partitionCount(admin, topics.events);
  } finally {
    await admin.disconnect();
  }
}

interface ConsumerRun {
  readonly kafka: Kafka;
  readonly topics: TopicNames;
  readonly groupId: string;
  readonly workers: PartitionWorkers;
  readonly progress: KafkaProgress;
  readonly connection: KafkaConnection;
  readonly logger: Logger;
}

/**
 * Joins the group and feeds each fetched batch to its partition's worker. Every (re)join drops
 * the workers: fresh ones rebuild their windows from offset 0, suppressing what was committed.
 */
async function runConsumer({ kafka, topics, groupId, workers, progress, connection, logger }: ConsumerRun): Promise<Consumer> {
  const consumer = kafka.consumer({
    groupId,
    readUncommitted: false,
    allowAutoTopicCreation: false,
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
    rebalanceTimeout: 30_000,
  });
  let generation = 0;
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    generation++;
    workers.dropAll();
    progress.assign(payload.memberAssignment[topics.events] ?? []);
    logger.info('joined consumer group', { groupId, assignment: payload.memberAssignment[topics.events] ?? [] });
  });
  connection.watch(consumer);
  const eachBatch = async ({ batch, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> => {
    connection.reconnected();
    const gen = generation;
    progress.sawEnd(batch.partition, Number(batch.highWatermark));
    const logged: LoggedEvent[] = [];
    for (const m of batch.messages) if (m.value !== null) logged.push({ pos: positionOf(m.offset), event: parseStored(m.value.toString()) });
    if (await workers.process(batch.partition, logged, () => isRunning() && !isStale() && gen === generation)) await heartbeat();
  };
  await consumer.connect();
  await consumer.subscribe({ topic: topics.events, fromBeginning: true });
  await consumer.run({ autoCommit: false, eachBatchAutoResolve: true, partitionsConsumedConcurrently: 1, eachBatch });
  return consumer;
}
