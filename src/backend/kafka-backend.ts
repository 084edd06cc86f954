import type { Kafka } from 'kafkajs';
import { TurnstreamError } from '../errors.ts';
import { createKafka } from '../kafka/create-kafka.ts';
import { partitionCount, topicNames, type TopicNames } from '../kafka/topics.ts';
import { KafkaDeadLetterStore } from '../log/kafka-dead-letter-store.ts';
import { silentLogger } from '../logger.ts';
import { openKafkaPipeline } from '../pipeline/open-kafka-pipeline.ts';
import type { PipelineOptions } from '../pipeline/pipeline-options.ts';
import { kafkaReplayLogs } from '../replay/open-replay-logs.ts';
import { KafkaStateQueries } from '../state/kafka-state-queries.ts';
import type { Backend, BackendReaders, ServingBackend, BackendConfig } from './backend.ts';

const prefixOf = (config: BackendConfig): string => config.kafkaTopicPrefix ?? 'turnstream';

/** Serving on Kafka: ingest produces to the events topic; this process works the partitions the group gives it. */
export async function openKafkaBackend(config: BackendConfig, brokers: readonly string[], o: PipelineOptions): Promise<ServingBackend> {
  const groupId = config.kafkaGroup ?? 'turnstream';
  let pipeline: Awaited<ReturnType<typeof openKafkaPipeline>>;
  try {
    pipeline = await openKafkaPipeline({
      ...o,
      brokers,
      groupId,
      topicPrefix: prefixOf(config),
      ...(config.kafkaPartitions === undefined ? {} : { partitions: config.kafkaPartitions }),
      ...(config.kafkaSessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: config.kafkaSessionTimeoutMs }),
    });
  } catch (error) {
    if (error instanceof TurnstreamError) throw error;
    throw new TurnstreamError(
      `cannot start on Kafka at ${brokers.join(',')}: ${(error as Error).message}. Is the broker running (deploy/kafka/kafka.sh start)?`,
      { cause: error },
    );
  }
  const { view, topics, partitions } = pipeline;
  const where = `Kafka ${brokers.join(',')} (${prefixOf(config)}.*)`;
  // Sessions of the partitions this process owns come from its view; others are read from their partition.
  const state = new KafkaStateQueries({ kafka: pipeline.kafka, topics, logger: o.logger ?? silentLogger, view, groupPrefix: `${groupId}-read` });
  return {
    mode: 'kafka',
    where,
    describe: { kafka: brokers, group: groupId, topics: topics.events, partitions },
    ingest: pipeline.ingestor,
    readers: {
      state,
      deadLetters: pipeline.deadLetters,
      log: kafkaReplayLogs({ kafka: pipeline.kafka, topic: topics.events, partitions, where }),
    },
    settled: async () => undefined,
    health: () => ({ ...pipeline.health() }),
    processed: () => pipeline.processed(),
    close: () => pipeline.close(),
  };
}

/**
 * Reading Kafka: a first look with a fail-fast client (an unreachable broker is reported in
 * seconds, not after the serving client's half-minute of backoff), then readers opened on first
 * use (a session's state is read from its partition alone; listing sessions reads every partition).
 * No transactional producer is opened, so no running processor is fenced.
 */
export async function readKafkaBackend(config: BackendConfig, brokers: readonly string[], purpose: 'report' | 'replay'): Promise<Backend> {
  const prefix = prefixOf(config);
  const topics = topicNames(prefix);
  const clientId = purpose === 'replay' ? 'turnstream-replay' : 'turnstream-cli';
  const partitions = await firstLook(brokers, topics, prefix, purpose, clientId);
  const kafka = createKafka({ brokers, clientId }, silentLogger);
  const where = `Kafka ${brokers.join(',')} (${prefix}.*)`;
  const readers = lazyReaders(kafka, topics, partitions, brokers);
  return {
    mode: 'kafka',
    where,
    describe: { kafka: brokers, topics: topics.events, partitions },
    readers: { ...readers.readers, log: kafkaReplayLogs({ kafka, topic: topics.events, partitions, where: `Kafka ${brokers.join(',')} (${topics.events})` }) },
    settled: async () => undefined,
    health: () => ({ ok: true, status: 'ok', mode: 'kafka' }),
    processed: () => 0,
    close: () => readers.close(),
  };
}

/** Checks the topic the purpose needs exists; resolves to the events topic's partition count. */
async function firstLook(brokers: readonly string[], topics: TopicNames, prefix: string, purpose: 'report' | 'replay', clientId: string): Promise<number> {
  const admin = createKafka({ brokers, clientId, failFast: true }, silentLogger).admin();
  const needed = purpose === 'replay' ? topics.events : topics.state;
  try {
    await admin.connect();
    if (!(await admin.listTopics()).includes(needed)) {
      throw new TurnstreamError(
        purpose === 'replay'
          ? `no topic ${needed} on ${brokers.join(',')}: nothing to replay. Has 'turnstream start --kafka' run there (topic prefix ${prefix})?`
          : `no topic ${needed} on ${brokers.join(',')}: has 'turnstream start --kafka' run there (topic prefix ${prefix})?`,
      );
    }
    return await partitionCount(admin, topics.events);
  } catch (error) {
    if (error instanceof TurnstreamError) throw error;
    throw new TurnstreamError(
      purpose === 'replay'
        ? `cannot read the event log from Kafka at ${brokers.join(',')}: ${(error as Error).message}. Is the broker running (deploy/kafka/kafka.sh start)?`
        : `cannot read from Kafka at ${brokers.join(',')}: ${(error as Error).message}. Is the broker running (deploy/kafka/kafka.sh start)?`,
      { cause: error, retriable: true },
    );
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** The state readers and the dead-letter reader, each opened when first used. */
function lazyReaders(
  kafka: Kafka,
  topics: TopicNames,
  partitions: number,
  brokers: readonly string[],
): { readers: Omit<BackendReaders, 'log'>; close(): Promise<void> } {
  const opening = <T>(open: () => Promise<T>): (() => Promise<T>) => {
    let opened: Promise<T> | undefined;
    return () =>
      (opened ??= open().catch((error: unknown) => {
        throw error instanceof TurnstreamError
          ? error
          : new TurnstreamError(`cannot read from Kafka at ${brokers.join(',')}: ${(error as Error).message}`, { cause: error });
      }));
  };
  const queries = new KafkaStateQueries({ kafka, topics, logger: silentLogger, keep: true, groupPrefix: 'turnstream-cli' });
  const reading = <T>(read: () => Promise<T>): Promise<T> => opening(read)();
  let letters: Promise<KafkaDeadLetterStore> | undefined;
  const lettersOf = opening(() => (letters = KafkaDeadLetterStore.open({ kafka, topic: topics.deadLetters, partitions })));
  return {
    readers: {
      state: {
        get: (s, k) => reading(() => queries.get(s, k)),
        list: (s) => reading(() => queries.list(s)),
        totals: (s) => reading(() => queries.totals(s)),
        sessions: (x) => reading(() => queries.sessions(x)),
        turns: (s) => reading(() => queries.turns(s)),
      },
      deadLetters: {
        list: async (x) => (await lettersOf()).list(x),
        countByReason: async () => (await lettersOf()).countByReason(),
      },
    },
    close: async () => {
      await Promise.all([
        queries.close(),
        letters?.then(
          (d) => d.close(),
          () => undefined,
        ),
      ]);
    },
  };
}
