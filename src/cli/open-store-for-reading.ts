import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TurnstreamError } from '../errors.ts';
import { createKafka } from '../kafka/create-kafka.ts';
import { partitionCount, topicNames } from '../kafka/topics.ts';
import type { DeadLetterStore } from '../log/dead-letter-store.ts';
import { KafkaDeadLetterStore } from '../log/kafka-dead-letter-store.ts';
import { silentLogger } from '../logger.ts';
import { KafkaStateView } from '../state/kafka-state-view.ts';
import { openEmbeddedStore } from '../state/open-embedded-store.ts';
import type { SessionStateStore } from '../state/session-state-store.ts';
import { brokerList } from './open-backend.ts';
import type { Config } from './settings.ts';

/** The read side the `sessions` and `dead-letters` commands need; never takes a writer's lock. */
export interface StoreReader {
  readonly state: Pick<SessionStateStore, 'get' | 'list' | 'totals' | 'sessions' | 'turns'>;
  readonly deadLetters: Pick<DeadLetterStore, 'list' | 'countByReason'>;
  readonly where: string;
  close(): Promise<void>;
}

/**
 * Opens the store the configuration points at for reading: the embedded store in --data-dir (a
 * clear error if there is none), or, with --kafka, a view of the state and turns topics (it does
 * not open a transactional producer, so it never fences a running processor).
 */
export async function openStoreForReading(config: Config): Promise<StoreReader> {
  if (config.kafka !== undefined) {
    const brokers = brokerList(config.kafka);
    const kafka = createKafka({ brokers, clientId: 'turnstream-cli' }, silentLogger);
    const topics = topicNames(config.kafkaTopicPrefix);
    const admin = kafka.admin();
    try {
      await admin.connect();
      if (!(await admin.listTopics()).includes(topics.state)) throw new TurnstreamError(`no topic ${topics.state} on ${brokers.join(',')}: has 'turnstream start --kafka' run there (topic prefix ${config.kafkaTopicPrefix})?`);
      const partitions = await partitionCount(admin, topics.events);
      const view = await KafkaStateView.open({ kafka, topics, logger: silentLogger, groupPrefix: 'turnstream-cli' });
      const deadLetters = await KafkaDeadLetterStore.open({ kafka, topic: topics.deadLetters, partitions });
      return {
        state: {
          get: (session, key) => view.get(session, key),
          list: (session) => view.list(session),
          totals: (session) => view.sessionTotals(session),
          sessions: (options) => view.sessions(options),
          turns: (session) => view.sessionTurns(session),
        },
        deadLetters,
        where: `Kafka ${brokers.join(',')} (${config.kafkaTopicPrefix}.*)`,
        close: async () => {
          await Promise.all([view.close(), deadLetters.close()]);
        },
      };
    } catch (error) {
      if (error instanceof TurnstreamError) throw error;
      throw new TurnstreamError(`cannot read from Kafka at ${brokers.join(',')}: ${(error as Error).message}`, { cause: error });
    } finally {
      await admin.disconnect();
    }
  }
  const dir = resolve(config.dataDir);
  if (!existsSync(join(dir, 'turnstream.db'))) {
    throw new TurnstreamError(`no turnstream data in ${dir}; run 'turnstream start' (or 'turnstream send FILE --data-dir ${config.dataDir}') first, or point --data-dir at the right directory`);
  }
  const store = openEmbeddedStore({ dataDir: dir });
  return {
    state: store.state,
    deadLetters: store.deadLetters,
    where: dir,
    close: async () => store.close(),
  };
}
