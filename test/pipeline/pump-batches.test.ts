import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LoggedEvent } from '../../src/events/step-event.ts';
import { silentLogger } from '../../src/logger.ts';
import type { Processor } from '../../src/pipeline/processor.ts';
import { MAX_BATCH_EVENTS, Pump } from '../../src/pipeline/pump.ts';

const logged = (from: number, n: number): LoggedEvent[] =>
  Array.from({ length: n }, (_, i) => ({ pos: from + i, event: { type: 'state.set' } }) as unknown as LoggedEvent);

/**
 * The pump merges what queued while the processor was busy, up to `MAX_BATCH_EVENTS` a call: the
 * processor lets the event loop in while it feeds, so appends keep queueing, and an unbounded
 * batch grew to everything that came in meanwhile (one commit, and one hand-over of tens of
 * thousands of spans that the export queue dropped).
 */
describe('Pump: batches', () => {
  it('merges queued appends into one call, at most MAX_BATCH_EVENTS events each, in log order', async () => {
    const calls: number[][] = [];
    let pushMore: (() => void) | undefined;
    const processor = {
      position: 0,
      checkpointWork: undefined,
      checkpointDueInMs: () => undefined,
      catchUp: async () => undefined,
      process: async (batch: readonly LoggedEvent[]) => {
        calls.push(batch.map((l) => l.pos));
        // Appends arrive while a batch is being processed (as they do while it is fed in slices).
        pushMore?.();
        pushMore = undefined;
        await new Promise((resolve) => setImmediate(resolve));
      },
    } as unknown as Processor;
    const pump = new Pump(processor, silentLogger);
    const total = 1_000 + 3 * MAX_BATCH_EVENTS + 5;
    pushMore = () => pump.push(logged(1_001, total - 1_000));
    pump.push(logged(1, 1_000));
    await pump.idle();
    const sizes = calls.map((c) => c.length);
    assert.deepEqual(sizes, [1_000, MAX_BATCH_EVENTS, MAX_BATCH_EVENTS, MAX_BATCH_EVENTS, 5]);
    assert.deepEqual(
      calls.flat(),
      Array.from({ length: total }, (_, i) => i + 1),
      'every event once, in log order',
    );
  });
});
