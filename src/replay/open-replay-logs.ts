import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { TurnstreamError } from '../errors.ts';
import { createKafka } from '../kafka/create-kafka.ts';
import { partitionFor } from '../kafka/partition-for.ts';
import { partitionCount, topicNames } from '../kafka/topics.ts';
import type { EventLog } from '../log/event-log.ts';
import { KafkaEventLog } from '../log/kafka-event-log.ts';
import { silentLogger } from '../logger.ts';
import { openEmbeddedStore } from '../state/open-embedded-store.ts';
import type { FocusedRead } from './replay-log.ts';
import { sqliteFocusedRead } from './sqlite-focused-read.ts';

/** A log replay can read, with a name for messages, and how to let go of it. */
export interface ReplayableLog {
  readonly log: EventLog;
  /** `the log in /var/lib/turnstream`, `partition 3 of turnstream.events`. */
  readonly label: string;
  /** A faster read for replaying one session, when the backend has one (the embedded log). */
  readonly focusedRead?: FocusedRead;
  /** Lets go of what opening this log took (Kafka: its clients); the embedded log is let go by `close`. */
  release(): Promise<void>;
}

/** Where a session's events are in a log, found without replaying it. */
export interface SessionExtent {
  readonly events: number;
  readonly firstPos: number;
  readonly lastPos: number;
  readonly firstMs: number;
  readonly lastMs: number;
}

/** The event log(s) replay reads: the embedded log, or the partitions of the Kafka events topic. */
export interface ReplayLogs {
  /** For messages: the data dir, or the brokers and topic. */
  readonly where: string;
  /** The log holding `session`: the embedded log, or the session's partition (murmur2, as the producer). */
  forSession(session: string): Promise<ReplayableLog>;
  /** Every log, in order (Kafka: each partition is a log of its own, with its own watermark, as live). */
  all(): Promise<{ readonly labels: readonly string[]; open(i: number): Promise<ReplayableLog>; heads(): Promise<number[]> }>;
  /**
   * Where a session's events are, when the backend can tell cheaply (the embedded log: one indexed
   * pass that parses only that session's rows); undefined when it cannot (Kafka would have to read
   * the partition, which the replay does anyway).
   */
  extent?(session: string): Promise<SessionExtent | undefined>;
  close(): Promise<void>;
}

export type ReplayLogsOptions = { readonly dataDir: string } | { readonly brokers: readonly string[]; readonly topicPrefix: string };

/**
 * Opens the log(s) to replay, read-only in effect: nothing is appended, no lock is taken (a
 * running `turnstream start` keeps its data dir), and on Kafka no transactional producer is
 * opened, so no live owner is fenced. Fails with a `TurnstreamError` that says what to check when
 * there is no log: no data in the directory, the broker unreachable, no events topic.
 */
export async function openReplayLogs(o: ReplayLogsOptions): Promise<ReplayLogs> {
  if ('dataDir' in o) return openEmbedded(resolve(o.dataDir));
  return openKafka(o.brokers, o.topicPrefix);
}

function openEmbedded(dir: string): ReplayLogs {
  if (!existsSync(join(dir, 'turnstream.db'))) {
    throw new TurnstreamError(`no turnstream data in ${dir}: nothing to replay. Point --data-dir at the directory 'turnstream start' uses (or use --kafka)`);
  }
  const store = openEmbeddedStore({ dataDir: dir });
  const label = `the log in ${dir}`;
  const whole: ReplayableLog = { log: store.log, label, focusedRead: sqliteFocusedRead(store.log), release: async () => undefined };
  return {
    where: dir,
    forSession: async () => whole,
    all: async () => ({ labels: [label], open: async () => whole, heads: async () => [store.log.headSync()] }),
    extent: async (session) => {
      let events = 0, firstPos = 0, lastPos = 0, firstMs = Number.POSITIVE_INFINITY, lastMs = Number.NEGATIVE_INFINITY;
      for await (const batch of store.log.read({ session, batchSize: 10_000 })) {
        for (const { pos, event } of batch) {
          if (events++ === 0) firstPos = pos;
          lastPos = pos;
          if (event.timeMs < firstMs) firstMs = event.timeMs;
          if (event.timeMs > lastMs) lastMs = event.timeMs;
        }
      }
      return events === 0 ? undefined : { events, firstPos, lastPos, firstMs, lastMs };
    },
    close: async () => store.close(),
  };
}

async function openKafka(brokers: readonly string[], topicPrefix: string): Promise<ReplayLogs> {
  const topic = topicNames(topicPrefix).events;
  const where = `Kafka ${brokers.join(',')} (${topic})`;
  // The first look uses a client with few retries: an unreachable broker is reported in seconds,
  // not after the pipeline client's half-minute of backoff (meant to ride out broker restarts).
  const probe = new Kafka({ brokers: [...brokers], clientId: 'turnstream-replay', logLevel: logLevel.NOTHING, connectionTimeout: 3_000, retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 1_000 } });
  const admin = probe.admin();
  let partitions: number;
  try {
    await admin.connect();
    if (!(await admin.listTopics()).includes(topic)) {
      throw new TurnstreamError(`no topic ${topic} on ${brokers.join(',')}: nothing to replay. Has 'turnstream start --kafka' run there (topic prefix ${topicPrefix})?`);
    }
    partitions = await partitionCount(admin, topic);
  } catch (error) {
    await admin.disconnect().catch(() => undefined);
    if (error instanceof TurnstreamError) throw error;
    throw new TurnstreamError(`cannot read the event log from Kafka at ${brokers.join(',')}: ${(error as Error).message}. Is the broker running (deploy/kafka/kafka.sh start)?`, { cause: error, retriable: true });
  }
  await admin.disconnect();
  const kafka = createKafka({ brokers, clientId: 'turnstream-replay' }, silentLogger);
  const open = async (partition: number): Promise<ReplayableLog> => {
    const log = await KafkaEventLog.open({ kafka, topic, partition, partitions });
    return { log, label: `partition ${partition} of ${topic}`, release: () => log.close() };
  };
  return {
    where,
    forSession: (session) => open(partitionFor(session, partitions)),
    all: async () => ({
      labels: Array.from({ length: partitions }, (_, p) => `partition ${p} of ${topic}`),
      open,
      heads: async () => {
        const a = kafka.admin();
        await a.connect();
        try {
          const offsets = await a.fetchTopicOffsets(topic);
          return Array.from({ length: partitions }, (_, p) => Number(offsets.find((x) => x.partition === p)?.high ?? 0));
        } finally {
          await a.disconnect();
        }
      },
    }),
    close: async () => undefined,
  };
}
