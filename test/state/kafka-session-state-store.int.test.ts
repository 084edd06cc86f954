import { KafkaSessionStateStore } from '../../src/state/kafka-session-state-store.ts';
import { silentLogger } from '../../src/logger.ts';
import { freshTopics } from '../helpers/kafka-broker.ts';
import { sessionStateStoreContract } from './session-state-store.contract.ts';

// The same contract as the SQLite adapter, against a real broker: a fresh set of topics per case.
sessionStateStoreContract('KafkaSessionStateStore (real broker)', async () => {
  const { kafka, topics, prefix } = await freshTopics({ partitions: 3 });
  const open = () => KafkaSessionStateStore.open({ kafka, topics, partitions: 3, partition: 0, transactionalIdPrefix: prefix, logger: silentLogger });
  let store = await open();
  return {
    store,
    reopen: async () => {
      await store.close();
      store = await open();
      return store;
    },
    cleanup: async () => {
      await store.close();
    },
  };
});
