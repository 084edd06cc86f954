import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPacer, type PacerClock } from '../../src/replay/create-pacer.ts';

/** A virtual clock: sleeping advances it, nothing really waits. `work` simulates time spent between events. */
function virtualClock(): PacerClock & { sleeps: number[]; work(ms: number): void } {
  let now = 1000;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
    work: (ms) => {
      now += ms;
    },
  };
}

describe('createPacer (--speed)', () => {
  it('waits the event-time gaps divided by the speed', async () => {
    const clock = virtualClock();
    const pace = createPacer({ speed: 10, clock });
    for (const t of [0, 1000, 1000, 6000, 26000]) await pace(1_700_000_000_000 + t);
    assert.deepEqual(clock.sleeps, [100, 500, 2000]);
  });

  it('events out of order (earlier than one released) go at once; the clock never runs back', async () => {
    const clock = virtualClock();
    const pace = createPacer({ speed: 1, clock });
    for (const t of [0, 500, 200, 300, 800]) await pace(t);
    assert.deepEqual(clock.sleeps, [500, 300]);
  });

  it('time spent between events counts toward the wait; falling behind is not made up by rushing', async () => {
    const clock = virtualClock();
    const pace = createPacer({ speed: 2, clock });
    await pace(0);
    clock.work(300);
    await pace(1000); // due 500 ms after the start, 300 already passed
    clock.work(2000);
    await pace(2000); // due at +1000, now at +2500: behind, goes at once and re-anchors
    await pace(3000); // the next gap is waited in full: 500 ms
    assert.deepEqual(clock.sleeps, [200, 500]);
  });

  it('refuses a speed that is not a positive number', () => {
    for (const speed of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) assert.throws(() => createPacer({ speed }), RangeError);
  });
});
