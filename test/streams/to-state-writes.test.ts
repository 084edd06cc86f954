import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { from, lastValueFrom, take, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type { LoggedEvent } from '../../src/events/step-event.ts';
import type { StateWrite } from '../../src/model/state-write.ts';
import { compareVersions } from '../../src/model/state-write.ts';
import { toStateWrites } from '../../src/streams/to-state-writes.ts';
import { T0, llmUsage, sessionStart, stateDelete, stateSet, turnEnd } from './make-events.ts';

const scheduler = () => new TestScheduler((actual, expected) => assert.deepStrictEqual(actual, expected));

const values = {
  a: stateSet({ id: 'w1', at: 100, seq: 3, pos: 1, key: 'mode', value: { plan: true, steps: [1, 2] } }),
  b: llmUsage({ id: 'w2', at: 150, pos: 2, inputTokens: 1, outputTokens: 1 }),
  c: stateDelete({ id: 'w3', at: 200, pos: 3, key: 'mode' }),
  d: sessionStart({ id: 'w4', at: 250, pos: 4 }),
  e: stateSet({ id: 'w5', at: 50, seq: 0, session: 's2', pos: 5, key: 'mode', value: null }),
  f: turnEnd({ id: 'w6', at: 300, pos: 6 }),
};
const writes: Record<string, StateWrite> = {
  x: { session: 's1', key: 'mode', deleted: false, value: { plan: true, steps: [1, 2] }, version: { time: T0 + 100, seq: 3, id: 'w1' } },
  // No seq on the event → seq −1, which sorts before any producer seq (0 included).
  y: { session: 's1', key: 'mode', deleted: true, version: { time: T0 + 200, seq: -1, id: 'w3' } },
  z: { session: 's2', key: 'mode', deleted: false, value: null, version: { time: T0 + 50, seq: 0, id: 'w5' } },
};

describe('toStateWrites (marbles)', () => {
  it('turns state.set and state.delete into versioned writes, in arrival order, ignoring other events', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold('-a-b-c-d-e-f-|', values);
      expectObservable(src.pipe(toStateWrites())).toBe('-x---y---z---|', writes);
      expectSubscriptions(src.subscriptions).toBe('^------------!');
    });
  });

  it('does not reorder out-of-order writes: the version carries event time instead', () => {
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('-e-c-a-|', values).pipe(toStateWrites())).toBe('-z-y-x-|', writes);
    });
  });

  it('completes with its source, and unsubscribes when the consumer completes early', () => {
    scheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      expectObservable(cold('-b-d|', values).pipe(toStateWrites())).toBe('----|');
      const src = hot('-b-a-c-|', values);
      expectObservable(src.pipe(toStateWrites(), take(1))).toBe('---(x|)', writes);
      expectSubscriptions(src.subscriptions).toBe('^--!');
    });
  });

  it('passes errors through', () => {
    const boom = new Error('boom');
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold('-a-b-#', values, boom);
      expectObservable(src.pipe(toStateWrites())).toBe('-x---#', writes, boom);
      expectSubscriptions(src.subscriptions).toBe('^----!');
    });
  });

  it('stops on unsubscribe', () => {
    scheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const src = hot('-a-b-c-|', values);
      expectObservable(src.pipe(toStateWrites()), '^---!').toBe('-x---', writes);
      expectSubscriptions(src.subscriptions).toBe('^---!');
    });
  });
});

describe('toStateWrites convergence', () => {
  /** Last-write-wins by version, as the store contract says: a write applies only if newer. */
  function resolve(ws: readonly StateWrite[]): Record<string, StateWrite> {
    const state: Record<string, StateWrite> = {};
    for (const w of ws) {
      const k = `${w.session}/${w.key}`;
      const current = state[k];
      if (current === undefined || compareVersions(w.version, current.version) > 0) state[k] = w;
    }
    return state;
  }

  it('gives versions under which every arrival order resolves to the same state', async () => {
    const events: LoggedEvent[] = [
      stateSet({ id: 'v1', at: 100, seq: 1, key: 'mode', value: 'one' }),
      stateSet({ id: 'v2', at: 100, seq: 2, key: 'mode', value: 'two' }),
      stateDelete({ id: 'v3', at: 90, seq: 9, key: 'mode' }), // older time: loses despite its seq
      stateSet({ id: 'v4', at: 100, seq: 2, key: 'mode', value: 'four' }), // ties v2 on (time, seq): id v4 > v2 wins
      stateDelete({ id: 'v5', at: 300, key: 'theme' }), // seq −1 …
      stateSet({ id: 'v6', at: 300, seq: 0, key: 'theme', value: 'dark' }), // … loses to seq 0 at the same time
      stateSet({ id: 'v7', at: 0, session: 's2', key: 'mode', value: 'other' }), // other session, same key
      llmUsage({ id: 'v8', at: 400, inputTokens: 1, outputTokens: 1 }),
    ];
    const expected = {
      's1/mode': { session: 's1', key: 'mode', deleted: false, value: 'four', version: { time: T0 + 100, seq: 2, id: 'v4' } },
      's1/theme': { session: 's1', key: 'theme', deleted: false, value: 'dark', version: { time: T0 + 300, seq: 0, id: 'v6' } },
      's2/mode': { session: 's2', key: 'mode', deleted: false, value: 'other', version: { time: T0, seq: -1, id: 'v7' } },
    };
    // Every rotation of the log, forwards and backwards: 16 arrival orders.
    for (let r = 0; r < events.length; r++) {
      const rotated = [...events.slice(r), ...events.slice(0, r)];
      for (const order of [rotated, [...rotated].reverse()]) {
        const ws = await lastValueFrom(from(order).pipe(toStateWrites(), toArray()));
        assert.equal(ws.length, 7);
        assert.deepStrictEqual(resolve(ws), expected);
      }
    }
  });
});
