import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Kafka } from 'kafkajs';
import { createKafka } from '../../src/kafka/create-kafka.ts';
import { ensureTopics, topicNames, type TopicNames } from '../../src/kafka/topics.ts';
import { silentLogger } from '../../src/logger.ts';

const script = fileURLToPath(new URL('../../deploy/kafka/kafka.sh', import.meta.url));
let cached: string[] | undefined;

/**
 * The brokers of a real Kafka for integration tests: TURNSTREAM_TEST_KAFKA_BROKERS (set by .ci/run,
 * which starts one), or else the local broker of deploy/kafka/kafka.sh on port 19092, started if
 * needed. Never skips: without a broker the test fails with what to do.
 */
export function kafkaBrokers(): string[] {
  if (cached) return cached;
  const fromEnv = process.env['TURNSTREAM_TEST_KAFKA_BROKERS'];
  if (fromEnv) return (cached = fromEnv.split(','));
  const r = spawnSync('bash', [script, 'start', '--port', '19092'], { encoding: 'utf8' });
  const line = /KAFKA_BROKERS=(\S+)/.exec(r.stdout ?? '');
  if (r.status !== 0 || !line) {
    throw new Error(`no Kafka broker for the integration tests: set TURNSTREAM_TEST_KAFKA_BROKERS, or let deploy/kafka/kafka.sh start one (it failed: ${r.stderr.trim().slice(-500)})`);
  }
  return (cached = line[1]!.split(','));
}

/** A kafkajs client and a fresh set of topics (unique prefix) for one test. */
export async function freshTopics({ partitions = 3, compactedConfig }: { partitions?: number; compactedConfig?: Record<string, string> } = {}): Promise<{ kafka: Kafka; topics: TopicNames; prefix: string }> {
  const prefix = `test-${randomUUID().slice(0, 8)}`;
  const kafka = createKafka({ brokers: kafkaBrokers(), clientId: prefix }, silentLogger);
  const topics = topicNames(prefix);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, topics, { partitions, ...(compactedConfig === undefined ? {} : { compactedConfig }) });
  } finally {
    await admin.disconnect();
  }
  return { kafka, topics, prefix };
}
