import type { Kafka } from 'kafkajs';
import { partitionFor } from '../kafka/partition-for.ts';
import type { EventLog } from '../log/event-log.ts';
import { KafkaEventLog } from '../log/kafka-event-log.ts';
import type { SqliteEventLog } from '../log/sqlite-event-log.ts';
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

/**
 * Replay's view of the embedded store's log: one log holding every session, with the SQLite
 * focused read and the indexed extent (which refuses, with `LogTrimmedError`, a session retention
 * has taken events of). Opened by the backend (`openBackend`), which checks that
 * there is a store and lets go of it: `close` here releases nothing.
 */
export function embeddedReplayLogs(log: SqliteEventLog, dir: string): ReplayLogs {
  const label = `the log in ${dir}`;
  const whole: ReplayableLog = { log, label, focusedRead: sqliteFocusedRead(log), release: async () => undefined };
  return {
    where: dir,
    forSession: async () => whole,
    all: async () => ({ labels: [label], open: async () => whole, heads: async () => [log.headSync()] }),
    extent: async (session) => {
      let events = 0,
        firstPos = 0,
        lastPos = 0,
        firstMs = Number.POSITIVE_INFINITY,
        lastMs = Number.NEGATIVE_INFINITY;
      // A session that lost events to retention cannot be replayed: say so before anything is read.
      log.refuseTrimmedSession(session);
      for await (const batch of log.read({ session, batchSize: 10_000, after: log.trimmedThrough() })) {
        for (const { pos, event } of batch) {
          if (events++ === 0) firstPos = pos;
          lastPos = pos;
          if (event.timeMs < firstMs) firstMs = event.timeMs;
          if (event.timeMs > lastMs) lastMs = event.timeMs;
        }
      }
      return events === 0 ? undefined : { events, firstPos, lastPos, firstMs, lastMs };
    },
    close: async () => undefined,
  };
}

/**
 * Replay's view of the Kafka events topic: each partition a log of its own (its own watermark, as
 * live), a session's log its partition (murmur2, as the producer). Read-only in effect: each read
 * uses a short-lived consumer of its own group, no transactional producer, so no live owner is
 * fenced. The client is the backend's (`createKafka`); `close` releases nothing of it.
 */
export function kafkaReplayLogs({ kafka, topic, partitions, where }: { kafka: Kafka; topic: string; partitions: number; where: string }): ReplayLogs {
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
