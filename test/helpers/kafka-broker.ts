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
 * The brokers of a real Kafka for integration tests: TURNSTREAM_TEST_KAFKA_BROKERS (set by
 * `npm test`'s global setup, test/global-setup.ts, which starts one broker for the whole run), or
 * else a broker of this process's own: deploy/kafka/kafka.sh on free ports, fresh, and reset (stopped,
 * data deleted) when this process exits, so running one test file alone leaves nothing behind.
 * Never skips: without a broker the test fails with what to do.
 */
export function kafkaBrokers(): string[] {
  if (cached) return cached;
  const fromEnv = process.env['TURNSTREAM_TEST_KAFKA_BROKERS'];
  if (fromEnv) {
    cached = fromEnv.split(',');
    return cached;
  }
  const r = spawnSync('bash', [script, 'start', '--port', 'auto', '--fresh'], { encoding: 'utf8' });
  const line = /KAFKA_BROKERS=(\S+):(\d+)/.exec(r.stdout ?? '');
  if (r.status !== 0 || !line) {
    throw new Error(
      `no Kafka broker for the integration tests: run them with \`npm test\` (its global setup starts one), set TURNSTREAM_TEST_KAFKA_BROKERS, or fix deploy/kafka/kafka.sh (it needs Java 17+ and Maven; it failed: ${(r.stderr ?? '').trim().slice(-500)})`,
    );
  }
  resetOnExit(line[2]!);
  cached = [`${line[1]}:${line[2]}`];
  return cached;
}

/**
 * Resets the broker on `port` when this process ends: normally, by an uncaught error, or by the
 * SIGINT/SIGTERM the test runner sends a file it cancels (after which the signal is raised again so
 * the process still dies of it).
 */
function resetOnExit(port: string): void {
  let done = false;
  const reset = (): void => {
    if (done) return;
    done = true;
    spawnSync('bash', [script, 'reset', '--port', port], { stdio: 'ignore' });
  };
  process.once('exit', reset);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      reset();
      process.kill(process.pid, signal);
    });
  }
}

/** A kafkajs client and a fresh set of topics (unique prefix) for one test. */
export async function freshTopics({
  partitions = 3,
  compactedConfig,
}: {
  partitions?: number;
  compactedConfig?: Record<string, string>;
} = {}): Promise<{ kafka: Kafka; topics: TopicNames; prefix: string }> {
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
