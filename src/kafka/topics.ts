import type { Admin, ITopicConfig } from 'kafkajs';
import { ConfigError, TurnstreamError } from '../errors.ts';

/** The topics of DESIGN.md §6, with the settings that make them what they are. */
export interface TopicNames {
  readonly events: string;
  readonly state: string;
  readonly turns: string;
  readonly deadLetters: string;
  readonly alerts: string;
}

export function topicNames(prefix = 'turnstream'): TopicNames {
  return {
    events: `${prefix}.events`,
    state: `${prefix}.state`,
    turns: `${prefix}.turns`,
    deadLetters: `${prefix}.dead-letters`,
    alerts: `${prefix}.alerts`,
  };
}

export interface TopicOptions {
  /** Partitions of every topic (events, state and turns must agree: a session's records share a partition number). */
  readonly partitions: number;
  readonly replicationFactor?: number;
  /** Extra configs for the compacted topics (tests make compaction fast with small segments). */
  readonly compactedConfig?: Readonly<Record<string, string>>;
  /** How long to wait for every partition to have a leader that answers (default 30 s). */
  readonly readyTimeoutMillis?: number;
}

const REQUIRED_POLICY = (names: TopicNames): Record<string, 'delete' | 'compact'> => ({
  [names.events]: 'delete',
  [names.state]: 'compact',
  [names.turns]: 'compact',
  [names.deadLetters]: 'delete',
  [names.alerts]: 'delete',
});

/** The broker errors that mean "this partition is not served yet": retrying can help. */
const NOT_READY = new Set([
  'UNKNOWN_TOPIC_OR_PARTITION',
  'LEADER_NOT_AVAILABLE',
  'NOT_LEADER_FOR_PARTITION',
  'NOT_LEADER_OR_FOLLOWER',
  'REPLICA_NOT_AVAILABLE',
  'REQUEST_TIMED_OUT',
  'NOT_CONTROLLER',
]);

/**
 * Whether `e` (or an error it wraps: kafkajs's retrier wraps what it gives up on in a
 * KafkaJSNonRetriableError with the original as `cause`, and joins per-broker failures in `errors`)
 * is a broker saying a partition is not served yet.
 */
export function isPartitionNotReady(e: unknown, depth = 0): boolean {
  if (typeof e !== 'object' || e === null || depth > 5) return false;
  const { type, cause, errors } = e as { type?: unknown; cause?: unknown; errors?: unknown };
  if (typeof type === 'string' && NOT_READY.has(type)) return true;
  if (Array.isArray(errors) && errors.length > 0 && errors.every((x) => isPartitionNotReady(x, depth + 1))) return true;
  return cause !== e && isPartitionNotReady(cause, depth + 1);
}

/**
 * Waits until every partition of `topics` has a leader in the metadata AND that leader answers a
 * ListOffsets for it. A KRaft broker publishes a new partition's leader before it has loaded the
 * replica, so `createTopics({ waitForLeaders })` alone returns while produce and fetch still fail
 * with NOT_LEADER_FOR_PARTITION / UNKNOWN_TOPIC_OR_PARTITION. Retries only those errors, with
 * backoff and jitter, until `timeoutMillis`; any other error, or the deadline, rejects.
 */
export async function waitForPartitionLeaders(
  admin: Admin,
  topics: readonly string[],
  { timeoutMillis = 30_000 }: { timeoutMillis?: number } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMillis;
  let delay = 50;
  for (let attempt = 1; ; attempt++) {
    let why: string;
    try {
      const meta = await admin.fetchTopicMetadata({ topics: [...topics] });
      const leaderless = meta.topics.flatMap((t) =>
        t.partitions.filter((p) => p.leader < 0 || p.partitionErrorCode !== 0).map((p) => `${t.name}[${p.partitionId}]`),
      );
      if (leaderless.length === 0) {
        for (const topic of topics) await admin.fetchTopicOffsets(topic);
        return;
      }
      why = `no leader yet for ${leaderless.slice(0, 5).join(', ')}`;
    } catch (e) {
      if (!isPartitionNotReady(e)) throw e;
      why = e instanceof Error ? e.message : String(e);
    }
    if (Date.now() + delay > deadline) {
      throw new TurnstreamError(
        `Kafka partitions of ${topics.join(', ')} not ready after ${timeoutMillis} ms (${attempt} attempts): ${why}. Is the broker overloaded or still starting?`,
        { retriable: true },
      );
    }
    await new Promise((r) => setTimeout(r, delay * (0.75 + Math.random() / 2)));
    delay = Math.min(delay * 2, 1_000);
  }
}

/**
 * Creates the topics that are missing, with their configs, and verifies the ones that exist: a
 * wrong cleanup.policy or a partition count that differs between events, state and turns is a
 * ConfigError at start-up (silent drift would break compaction or co-partitioning). Returns once
 * every partition is served (waitForPartitionLeaders), so the first produce or fetch does not fail.
 */
export async function ensureTopics(admin: Admin, names: TopicNames, o: TopicOptions): Promise<void> {
  const policy = REQUIRED_POLICY(names);
  const existing = new Set(await admin.listTopics());
  const missing: ITopicConfig[] = [];
  for (const [topic, cleanup] of Object.entries(policy)) {
    if (existing.has(topic)) continue;
    const configEntries: { name: string; value: string }[] = [{ name: 'cleanup.policy', value: cleanup }];
    if (cleanup === 'compact') for (const [name, value] of Object.entries(o.compactedConfig ?? {})) configEntries.push({ name, value });
    if (topic === names.events) configEntries.push({ name: 'retention.ms', value: '-1' }); // the source of truth
    // Dead letters are bounded like the embedded store's: 7 days, and 256 MiB per partition.
    if (topic === names.deadLetters)
      configEntries.push({ name: 'retention.ms', value: String(7 * 24 * 3_600_000) }, { name: 'retention.bytes', value: String(256 * 1024 * 1024) });
    missing.push({ topic, numPartitions: o.partitions, replicationFactor: o.replicationFactor ?? 1, configEntries });
  }
  // kafkajs's own waitForLeaders gives up on the UNKNOWN_TOPIC_OR_PARTITION a busy broker answers
  // for a topic it has just created; waitForPartitionLeaders retries that.
  if (missing.length > 0) await admin.createTopics({ topics: missing, waitForLeaders: false });
  await waitForPartitionLeaders(admin, Object.keys(policy), o.readyTimeoutMillis === undefined ? {} : { timeoutMillis: o.readyTimeoutMillis });

  const meta = await admin.fetchTopicMetadata({ topics: Object.keys(policy) });
  const counts = new Map(meta.topics.map((t) => [t.name, t.partitions.length]));
  for (const t of [names.state, names.turns]) {
    if (counts.get(t) !== counts.get(names.events)) {
      throw new ConfigError(
        `topic ${t} has ${counts.get(t)} partitions but ${names.events} has ${counts.get(names.events)}; they must match (a session's records share a partition number). Recreate ${t} with ${counts.get(names.events)} partitions.`,
      );
    }
  }
  const configs = await admin.describeConfigs({
    includeSynonyms: false,
    resources: Object.keys(policy).map((name) => ({ type: 2 /* TOPIC */, name, configNames: ['cleanup.policy'] })),
  });
  for (const r of configs.resources) {
    const actual = r.configEntries.find((c) => c.configName === 'cleanup.policy')?.configValue;
    const wanted = policy[r.resourceName];
    if (wanted !== undefined && actual !== undefined && !actual.split(',').includes(wanted)) {
      throw new ConfigError(
        `topic ${r.resourceName} has cleanup.policy=${actual}, turnstream needs ${wanted}. Fix it: kafka-configs --alter --entity-type topics --entity-name ${r.resourceName} --add-config cleanup.policy=${wanted}`,
      );
    }
  }
}

/** The partition count of the events topic (after ensureTopics). */
export async function partitionCount(admin: Admin, topic: string): Promise<number> {
  const meta = await admin.fetchTopicMetadata({ topics: [topic] });
  return meta.topics[0]?.partitions.length ?? 0;
}
