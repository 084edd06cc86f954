import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createKafka } from '../../src/kafka/create-kafka.ts';
import { silentLogger } from '../../src/logger.ts';
import { kafkaBrokers } from '../helpers/kafka-broker.ts';

describe('createKafka on Node 24: no false TimeoutNegativeWarning from kafkajs (tulios/kafkajs#1751)', () => {
  it('talking to a real broker prints no TimeoutNegativeWarning (a non-JSON line on stderr); other warnings still come through', async () => {
    const emitted: string[] = [];
    const onWarning = (w: Error): void => void emitted.push(`${w.name}: ${w.message.split('\n')[0]}`);
    process.on('warning', onWarning);
    const kafka = createKafka({ brokers: kafkaBrokers() }, silentLogger);
    // Outside createKafka's filter: sees what Node's timers report (once per process), before the filter.
    const reported: string[] = [];
    const filtered = process.emitWarning;
    process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
      if (rest[0] === 'TimeoutNegativeWarning') reported.push(String(warning).split('\n')[0]!);
      (filtered as (...args: unknown[]) => void).call(process, warning, ...rest);
    }) as typeof process.emitWarning;
    try {
      const admin = kafka.admin();
      await admin.connect();
      await admin.listTopics();
      const producer = kafka.producer();
      await producer.connect();
      await producer.disconnect();
      await admin.disconnect();
      // The filter drops only a negative epoch time (0 − now); any other value is still emitted.
      process.emitWarning('-5 is a negative number.\nTimeout duration was set to 1.', 'TimeoutNegativeWarning');
      await sleep(20);
    } finally {
      process.emitWarning = filtered;
      process.off('warning', onWarning);
    }
    assert.equal(reported.length, 2, `kafkajs scheduled a negative timeout on this connection (and the test's own): ${reported.join(' | ')}`);
    assert.match(reported[0]!, /^-1\d{12} is a negative number\./);
    assert.deepEqual(
      emitted.filter((w) => w.startsWith('TimeoutNegativeWarning')),
      ['TimeoutNegativeWarning: -5 is a negative number.'],
    );
  });
});
