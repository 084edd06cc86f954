import { KafkaEventLog } from '../../src/log/kafka-event-log.ts';
import { freshTopics } from '../helpers/kafka-broker.ts';
import { eventLogContract } from './event-log.contract.ts';

// The same contract as the SQLite log, against one partition of a real events topic.
eventLogContract('KafkaEventLog (real broker, one partition)', async () => {
  const { kafka, topics } = await freshTopics({ partitions: 3 });
  const open = () => KafkaEventLog.open({ kafka, topic: topics.events, partition: 1, partitions: 3 });
  let log = await open();
  return {
    log,
    reopen: async () => {
      await log.close();
      log = await open();
      return log;
    },
    cleanup: async () => {
      await log.close();
    },
  };
});
