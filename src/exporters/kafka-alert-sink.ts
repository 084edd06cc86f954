import type { Kafka } from 'kafkajs';
import { partitionFor } from '../kafka/partition-for.ts';
import type { Logger } from '../logger.ts';
import { alertId, type AlertSink } from './alert-sinks.ts';

/** Budget alerts to the alerts topic (Kafka mode), keyed by session when there is one. */
export async function kafkaAlertSink({
  kafka,
  topic,
  partitions,
  logger,
}: {
  kafka: Kafka;
  topic: string;
  partitions: number;
  logger: Logger;
}): Promise<AlertSink> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  let inFlight = Promise.resolve();
  return {
    send: (alerts) => {
      const messages = alerts.map((a) => ({
        key: a.session ?? a.key,
        value: JSON.stringify({ id: alertId(a), ...a }),
        partition: partitionFor(a.session ?? a.key, partitions),
      }));
      inFlight = inFlight
        .then(() => producer.send({ topic, messages, acks: -1 }))
        .then(() => undefined)
        .catch((error: unknown) => logger.error('alerts not written to Kafka', { error, count: messages.length }));
    },
    forceFlush: () => inFlight,
    shutdown: async () => {
      await inFlight;
      await producer.disconnect();
    },
  };
}
