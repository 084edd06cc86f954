import type { Admin, ITopicConfig } from 'kafkajs';
import { ConfigError } from '../errors.ts';

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
}

const REQUIRED_POLICY = (names: TopicNames): Record<string, 'delete' | 'compact'> => ({
  [names.events]: 'delete',
  [names.state]: 'compact',
  [names.turns]: 'compact',
  [names.deadLetters]: 'delete',
  [names.alerts]: 'delete',
});

/**
 * Creates the topics that are missing, with their configs, and verifies the ones that exist: a
 * wrong cleanup.policy or a partition count that differs between events, state and turns is a
 * ConfigError at start-up (silent drift would break compaction or co-partitioning).
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
    missing.push({ topic, numPartitions: o.partitions, replicationFactor: o.replicationFactor ?? 1, configEntries });
  }
  if (missing.length > 0) await admin.createTopics({ topics: missing, waitForLeaders: true });

  const meta = await admin.fetchTopicMetadata({ topics: Object.keys(policy) });
  const counts = new Map(meta.topics.map((t) => [t.name, t.partitions.length]));
  for (const t of [names.state, names.turns]) {
    if (counts.get(t) !== counts.get(names.events)) {
      throw new ConfigError(`topic ${t} has ${counts.get(t)} partitions but ${names.events} has ${counts.get(names.events)}; they must match (a session's records share a partition number). Recreate ${t} with ${counts.get(names.events)} partitions.`);
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
      throw new ConfigError(`topic ${r.resourceName} has cleanup.policy=${actual}, turnstream needs ${wanted}. Fix it: kafka-configs --alter --entity-type topics --entity-name ${r.resourceName} --add-config cleanup.policy=${wanted}`);
    }
  }
}

/** The partition count of the events topic (after ensureTopics). */
export async function partitionCount(admin: Admin, topic: string): Promise<number> {
  const meta = await admin.fetchTopicMetadata({ topics: [topic] });
  return meta.topics[0]?.partitions.length ?? 0;
}
