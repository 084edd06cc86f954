import { randomUUID } from 'node:crypto';
import type { Kafka, Producer } from 'kafkajs';
import type { DeadLetter, RejectReason } from '../events/reject-reason.ts';
import { partitionFor } from '../kafka/partition-for.ts';
import type { DeadLetterStore } from './dead-letter-store.ts';

/**
 * `DeadLetterStore` on the dead-letters topic: one record per rejected input, value
 * `{reason, message, raw, source, at, session?, eventId?}`, keyed by session when known.
 * `list`/`countByReason` read the topic from the beginning (an operator's tool, not a hot path).
 */
export class KafkaDeadLetterStore implements DeadLetterStore {
  private readonly kafka: Kafka;
  private readonly topic: string;
  private readonly partitions: number;
  private readonly producer: Producer;

  private constructor(kafka: Kafka, topic: string, partitions: number, producer: Producer) {
    this.kafka = kafka;
    this.topic = topic;
    this.partitions = partitions;
    this.producer = producer;
  }

  static async open({ kafka, topic, partitions }: { kafka: Kafka; topic: string; partitions: number }): Promise<KafkaDeadLetterStore> {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await producer.connect();
    return new KafkaDeadLetterStore(kafka, topic, partitions, producer);
  }

  /** Resolves to 0: the topic's retention (7 days, 256 MiB per partition) trims, not this store. */
  async put(letters: readonly DeadLetter[]): Promise<number> {
    if (letters.length === 0) return 0;
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: letters.map((l) => ({
        key: l.session ?? null,
        value: JSON.stringify(l),
        ...(l.session === undefined ? {} : { partition: partitionFor(l.session, this.partitions) }),
      })),
    });
    return 0;
  }

  private async readAll(): Promise<DeadLetter[]> {
    const admin = this.kafka.admin();
    await admin.connect();
    const ends = new Map((await admin.fetchTopicOffsets(this.topic)).map((o) => [o.partition, Number(o.high)]));
    await admin.disconnect();
    const pending = [...ends].filter(([, high]) => high > 0);
    const out: (DeadLetter & { p: number; o: number })[] = [];
    if (pending.length === 0) return [];
    const consumer = this.kafka.consumer({ groupId: `turnstream-dl-${randomUUID()}`, allowAutoTopicCreation: false });
    const done = new Set<number>();
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: this.topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`reading ${this.topic} timed out`)), 30_000);
        consumer
          .run({
            autoCommit: false,
            eachBatch: async ({ batch }) => {
              for (const m of batch.messages)
                if (m.value !== null) out.push({ ...(JSON.parse(m.value.toString()) as DeadLetter), p: batch.partition, o: Number(m.offset) });
              if (Number(batch.lastOffset()) + 1 >= (ends.get(batch.partition) ?? 0)) done.add(batch.partition);
              if (pending.every(([p]) => done.has(p))) {
                clearTimeout(timer);
                resolve();
              }
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect();
    }
    return out.sort((a, b) => a.at - b.at || a.p - b.p || a.o - b.o).map(({ p: _p, o: _o, ...l }) => l);
  }

  async list(options: { reason?: RejectReason; limit?: number } = {}): Promise<DeadLetter[]> {
    return (await this.readAll()).filter((l) => options.reason === undefined || l.reason === options.reason).slice(0, options.limit ?? 100);
  }

  async countByReason(): Promise<Partial<Record<RejectReason, number>>> {
    const counts: Partial<Record<RejectReason, number>> = {};
    for (const l of await this.readAll()) counts[l.reason] = (counts[l.reason] ?? 0) + 1;
    return counts;
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}
