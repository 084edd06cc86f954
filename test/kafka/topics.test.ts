import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { isPartitionNotReady } from '../../src/kafka/topics.ts';

// kafkajs is CommonJS: its error classes are not detectable as named exports.
const { KafkaJSAggregateError, KafkaJSNonRetriableError, KafkaJSProtocolError } = kafkajs;

/** A broker error as kafkajs builds it from a response's error code (protocol/error.js). */
const protocolError = (type: string): InstanceType<typeof KafkaJSProtocolError> =>
  new KafkaJSProtocolError(Object.assign(new Error(type), { type, code: 0, retriable: true }));

describe('isPartitionNotReady: which broker errors waitForPartitionLeaders retries', () => {
  it('the errors of a partition a broker has not loaded yet', () => {
    for (const type of ['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE', 'NOT_LEADER_FOR_PARTITION'])
      assert.equal(isPartitionNotReady(protocolError(type)), true, type);
  });

  it('through the wrappers kafkajs puts around them: a retrier that gave up (cause), per-broker failures (errors)', () => {
    const wrapped = new KafkaJSNonRetriableError(protocolError('NOT_LEADER_FOR_PARTITION'));
    Object.assign(wrapped, { cause: protocolError('NOT_LEADER_FOR_PARTITION') });
    assert.equal(isPartitionNotReady(wrapped), true);
    assert.equal(
      isPartitionNotReady(new KafkaJSAggregateError('two brokers', [protocolError('LEADER_NOT_AVAILABLE'), protocolError('UNKNOWN_TOPIC_OR_PARTITION')])),
      true,
    );
  });

  it('not other errors: those fail ensureTopics at once', () => {
    assert.equal(isPartitionNotReady(protocolError('TOPIC_AUTHORIZATION_FAILED')), false);
    assert.equal(isPartitionNotReady(protocolError('INVALID_REPLICATION_FACTOR')), false);
    assert.equal(
      isPartitionNotReady(new KafkaJSAggregateError('mixed', [protocolError('LEADER_NOT_AVAILABLE'), protocolError('TOPIC_AUTHORIZATION_FAILED')])),
      false,
    );
    assert.equal(isPartitionNotReady(new TypeError('x is undefined')), false);
    assert.equal(isPartitionNotReady(undefined), false);
    const loop: { type: string; cause?: unknown } = { type: 'OTHER' };
    loop.cause = loop;
    assert.equal(isPartitionNotReady(loop), false);
  });
});
