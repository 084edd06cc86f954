import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { EncodedSpanQueue, type EncodedSpanQueueOptions } from '../../src/exporters/encoded-span-queue.ts';

/** Entry `i` holds `spans` spans; its bytes are [i]. */
const entry = (i: number, spans: number) => ({ bytes: Uint8Array.of(i), spans });

function queue(o: Partial<EncodedSpanQueueOptions> & { hold?: boolean } = {}) {
  const sent: number[][] = [];
  const dropped: number[] = [];
  const failed: { error: string; spans: number }[] = [];
  const gates: (() => void)[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const q = new EncodedSpanQueue({
    maxQueueSize: 100,
    maxExportBatchSize: 10,
    scheduledDelayMillis: 60_000,
    send: async (batch) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      if (o.hold) await new Promise<void>((ok) => gates.push(ok));
      inFlight--;
      sent.push(batch.map((b) => b[0]!));
    },
    onDropped: (n) => dropped.push(n),
    onError: (error, spans) => failed.push({ error: String((error as Error).message), spans }),
    ...o,
  });
  return { q, sent, dropped, failed, gates, maxInFlight: () => maxInFlight };
}

describe('EncodedSpanQueue: batching of spans already encoded', () => {
  it('sends whole entries, in order, as soon as a batch is full; one export at a time', async () => {
    const t = queue({ hold: true });
    for (let i = 0; i < 6; i++) t.q.add(entry(i, 4)); // 24 spans: batches [0,1,2] (12) and [3,4,5] (12)
    await sleep(5);
    assert.equal(t.gates.length, 1, 'the second batch waits for the first');
    t.gates.shift()!();
    await sleep(5);
    assert.equal(t.gates.length, 1);
    t.gates.shift()!();
    await t.q.forceFlush();
    assert.deepEqual(t.sent, [
      [0, 1, 2],
      [3, 4, 5],
    ]);
    assert.equal(t.maxInFlight(), 1);
    assert.equal(t.q.size, 0);
  });

  it('sends a partial batch after the scheduled delay', async () => {
    const t = queue({ scheduledDelayMillis: 20 });
    t.q.add(entry(7, 3));
    assert.deepEqual(t.sent, []);
    for (let i = 0; i < 100 && t.sent.length === 0; i++) await sleep(10);
    assert.deepEqual(t.sent, [[7]]);
  });

  it('a flush sends everything queued and resolves after the sends', async () => {
    const t = queue();
    for (let i = 0; i < 5; i++) t.q.add(entry(i, 3));
    await t.q.forceFlush();
    assert.deepEqual(t.sent, [[0, 1, 2, 3], [4]]);
    assert.equal(t.q.size, 0);
  });

  it('drops what does not fit in the queue and reports how many spans; a failed export is reported with its spans', async () => {
    const t = queue({
      maxQueueSize: 12,
      send: async (batch) => {
        if (batch[0]![0] === 0) throw new Error('refused');
      },
    });
    t.q.add(entry(0, 6));
    t.q.add(entry(1, 5));
    t.q.add(entry(2, 5)); // 16 > 12: dropped
    assert.deepEqual(t.dropped, [5]);
    await t.q.forceFlush();
    assert.deepEqual(t.failed, [{ error: 'refused', spans: 11 }]);
    t.q.add(entry(3, 2));
    await t.q.forceFlush();
    assert.equal(t.q.size, 0);
  });
});
