import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Consumer } from 'kafkajs';
import { createLogger } from '../../src/logger.ts';
import { openKafkaConnection } from '../../src/pipeline/kafka-connection.ts';

/** The part of a kafkajs consumer `watch` uses: its event names and `on`. */
function consumerEvents(): { consumer: Consumer; emit: (event: string, payload: unknown) => void } {
  const emitter = new EventEmitter();
  const events = { GROUP_JOIN: 'join', HEARTBEAT: 'hb', CRASH: 'crash', DISCONNECT: 'disconnect' };
  const consumer = { events, on: (e: string, l: (x: unknown) => void) => emitter.on(e, l) } as unknown as Consumer;
  return { consumer, emit: (event, payload) => emitter.emit(event, payload) };
}

describe('Kafka connection: a consumer crash kafkajs does not restart from', () => {
  it('is restarted by turnstream (again after a failed try), and not while closing', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({ level: 'info', write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) });
    const connection = openKafkaConnection({ brokers: ['127.0.0.1:1'], groupId: 'g', clientLogger: logger, logger });
    const { consumer, emit } = consumerEvents();
    let starts = 0;
    connection.watch(consumer, async () => {
      starts++;
      if (starts === 1) throw new Error('coordinator still missing');
    });
    emit('crash', { payload: { error: new Error('Failed to find group coordinator'), restart: false } });
    assert.equal(connection.fault()?.status, 'consumer down');
    t.mock.timers.tick(1_000);
    await new Promise((r) => setImmediate(r));
    assert.equal(starts, 1, 'restarted after 1 s');
    assert.ok(lines.some((l) => l['msg'] === 'restarting the consumer failed; trying again'));
    t.mock.timers.tick(2_000);
    await new Promise((r) => setImmediate(r));
    assert.equal(starts, 2, 'tried again after 2 s');
    // kafkajs restarts by itself: nothing to do here.
    emit('crash', { payload: { error: new Error('connection lost'), restart: true } });
    t.mock.timers.tick(60_000);
    assert.equal(starts, 2);
    connection.closing();
    emit('crash', { payload: { error: new Error('Failed to find group coordinator'), restart: false } });
    t.mock.timers.tick(60_000);
    assert.equal(starts, 2, 'not while closing');
  });
});
