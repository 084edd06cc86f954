import { randomUUID } from 'node:crypto';
import type { Admin, Kafka, Message, Producer, RecordMetadata } from 'kafkajs';
import { parseLoggedEvent } from '../events/parse-logged-event.ts';
import { unreadableEvent } from './unreadable-event.ts';
import { whenRunning } from './kafka-consumer-running.ts';
import type { LoggedEvent } from '../events/step-event.ts';
import { partitionFor } from '../kafka/partition-for.ts';
import type { AppendInput, AppendOutcome, EventLog, ReadOptions } from './event-log.ts';

const APPEND_TIMEOUT_MS = 10_000;

/** Positions are Kafka offsets + 1, so that 0 means "nothing" as in every other log. */
export const positionOf = (offset: string | number): number => Number(offset) + 1;

/** Positions per message of one `send`, in input order (kafkajs keeps per-partition order). */
function positions(partitionsInOrder: readonly number[], meta: readonly RecordMetadata[]): AppendOutcome[] {
  const next = new Map(meta.map((m) => [m.partition, Number(m.baseOffset ?? 0)]));
  return partitionsInOrder.map((p) => {
    const offset = next.get(p) ?? 0;
    next.set(p, offset + 1);
    return { status: 'appended', pos: positionOf(offset) };
  });
}

/**
 * Appends events to the events topic, each to its session's partition (key = session, explicit
 * partition = the Java client's murmur2), with an idempotent producer and acks=all: resolves once
 * every in-sync replica has them. At-least-once: repeated ids are stored; the processor dedupes.
 */
export class KafkaEventAppender {
  readonly dedupesOnAppend = false;
  private readonly producer: Producer;
  private readonly topic: string;
  private readonly partitions: number;

  private constructor(producer: Producer, topic: string, partitions: number) {
    this.producer = producer;
    this.topic = topic;
    this.partitions = partitions;
  }

  static async open({ kafka, topic, partitions }: { kafka: Kafka; topic: string; partitions: number }): Promise<KafkaEventAppender> {
    // Retries bounded to ~10 s: an ingest request the broker cannot take must fail (503, nothing
    // acknowledged, the client retries) well before the client's own timeout.
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 2_000 },
    });
    await producer.connect();
    return new KafkaEventAppender(producer, topic, partitions);
  }

  async append(batch: readonly AppendInput[], partition?: number): Promise<AppendOutcome[]> {
    if (batch.length === 0) return [];
    const parts = batch.map(({ event }) => partition ?? partitionFor(event.session, this.partitions));
    const messages: Message[] = batch.map(({ event, raw }, i) => ({ key: event.session, value: raw, partition: parts[i]! }));
    // Bounded wait: past it the request fails (nothing acknowledged, the client retries). A send
    // that still lands later is a duplicate the processor drops, so the bound is safe.
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Kafka did not acknowledge within ${APPEND_TIMEOUT_MS} ms`)), APPEND_TIMEOUT_MS);
    });
    try {
      const meta = await Promise.race([this.producer.send({ topic: this.topic, messages, acks: -1 }), timeout]);
      return positions(parts, meta);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}

/**
 * `EventLog` over ONE partition of the events topic: a totally ordered log, as the port requires
 * (the topic is N such logs, one per partition, sharded by session). Used for replay and by the
 * contract suite; live processing consumes the partitions through the consumer group instead.
 * `read` uses a short-lived consumer in its own group (kafkajs has no manual assignment), seeks to
 * the start position and stops at the end offset the partition had when the read began.
 */
export class KafkaEventLog implements EventLog {
  readonly dedupesOnAppend = false;
  private readonly kafka: Kafka;
  private readonly topic: string;
  private readonly partition: number;
  private readonly appender: KafkaEventAppender;
  private readonly admin: Admin;

  private constructor(kafka: Kafka, topic: string, partition: number, appender: KafkaEventAppender, admin: Admin) {
    this.kafka = kafka;
    this.topic = topic;
    this.partition = partition;
    this.appender = appender;
    this.admin = admin;
  }

  static async open({ kafka, topic, partition, partitions }: { kafka: Kafka; topic: string; partition: number; partitions: number }): Promise<KafkaEventLog> {
    const admin = kafka.admin();
    await admin.connect();
    return new KafkaEventLog(kafka, topic, partition, await KafkaEventAppender.open({ kafka, topic, partitions }), admin);
  }

  append(batch: readonly AppendInput[]): Promise<AppendOutcome[]> {
    return this.appender.append(batch, this.partition);
  }

  async head(): Promise<number> {
    const offsets = await this.admin.fetchTopicOffsets(this.topic);
    return Number(offsets.find((o) => o.partition === this.partition)?.high ?? 0);
  }

  async *read(options: ReadOptions = {}): AsyncIterable<LoggedEvent[]> {
    const after = options.after ?? 0;
    const size = options.batchSize ?? 5000;
    const end = await this.head(); // = high watermark = position of the last event
    if (end <= after) return;
    const consumer = this.kafka.consumer({ groupId: `turnstream-read-${randomUUID()}`, readUncommitted: false, allowAutoTopicCreation: false });
    const queue: LoggedEvent[] = [];
    let reached = after;
    let wake: (() => void) | undefined;
    let failure: unknown;
    const notify = (): void => {
      wake?.();
      wake = undefined;
    };
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: this.topic, fromBeginning: true });
      await consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch, pause }) => {
            if (batch.partition !== this.partition) return void pause();
            for (const m of batch.messages) {
              const pos = positionOf(m.offset);
              if (pos <= reached || pos > end || m.value === null) continue;
              reached = pos;
              const event = parseStored(m.value.toString());
              if (options.session === undefined || event.session === options.session) queue.push({ pos, event });
            }
            reached = Math.max(reached, Math.min(end, positionOf(batch.lastOffset())));
            notify();
            // Backpressure: let the reader drain before fetching more.
            while (queue.length >= size * 4) await new Promise((r) => setTimeout(r, 5));
          },
        })
        .catch((error: unknown) => {
          failure = error;
          notify();
        });
      await whenRunning(() => consumer.seek({ topic: this.topic, partition: this.partition, offset: String(after) }));
      for (;;) {
        while (queue.length >= size || (queue.length > 0 && reached >= end)) yield queue.splice(0, size);
        if (failure !== undefined) throw failure;
        if (reached >= end && queue.length === 0) return;
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 100);
        });
      }
    } finally {
      await consumer.disconnect();
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.appender.close(), this.admin.disconnect()]);
  }
}

/** A message that does not parse (produced by something else) is handed on as unreadable, not thrown. */
export function parseStored(body: string): LoggedEvent['event'] {
  try {
    return parseLoggedEvent(body);
  } catch (error) {
    return unreadableEvent(body, error);
  }
}
