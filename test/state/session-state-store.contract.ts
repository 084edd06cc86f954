import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { JsonValue } from '../../src/events/step-event.ts';
import { RESERVED_KEY_PREFIX, type SessionStateStore } from '../../src/state/session-state-store.ts';
import type { StateWrite } from '../../src/model/state-write.ts';
import type { StateVersion } from '../../src/model/state-write.ts';
import type { SessionDelta } from '../../src/model/session-totals.ts';
import { turnRecord } from '../../src/model/turn-record.ts';
import type { TurnAggregate } from '../../src/model/turn-aggregate.ts';

/** What an adapter's test hands the contract: a fresh, empty store, a way to reopen it, and cleanup. */
export interface OpenedStateStore {
  readonly store: SessionStateStore;
  /** Closes the current store and opens the same storage again. */
  readonly reopen: () => Promise<SessionStateStore>;
  readonly cleanup: () => Promise<void>;
}

const T0 = Date.parse('2025-06-01T12:00:00Z');
const v = (dt: number, seq = -1, id = 'e'): StateVersion => ({ time: T0 + dt, seq, id });
const set = (session: string, key: string, value: JsonValue, version: StateVersion): StateWrite => ({ session, key, deleted: false, value, version });
const del = (session: string, key: string, version: StateVersion): StateWrite => ({ session, key, deleted: true, version });

function delta(session: string, d: Partial<Omit<SessionDelta, 'session'>>): SessionDelta {
  return {
    session,
    turns: 1,
    llmCalls: 0,
    toolCalls: 0,
    inputTokens: 0,
    outputTokens: 0,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    reasoningTokens: 0,
    cost: 0,
    errors: 0,
    firstMs: T0,
    lastMs: T0,
    ...d,
  };
}

export function turn(session: string, id: string, revision: number, startMs: number, inputTokens = 100): TurnAggregate {
  return {
    session,
    turn: id,
    revision,
    status: 'completed',
    agent: 'agent-x',
    startMs,
    endMs: startMs + 1000,
    durationMs: 1000,
    stopReason: 'end_turn',
    toolCalls: 1,
    toolNames: ['grep'],
    llmCalls: 1,
    inputTokens,
    outputTokens: 20,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    reasoningTokens: 0,
    cost: 0.25,
    errors: 0,
    models: [
      {
        provider: 'anthropic',
        model: 'claude-sonnet-4-5',
        calls: 1,
        inputTokens,
        outputTokens: 20,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
        reasoningTokens: 0,
        cost: 0.25,
      },
    ],
    llm: [
      {
        eventId: `${id}-llm`,
        provider: 'anthropic',
        model: 'claude-sonnet-4-5',
        startMs,
        endMs: startMs + 500,
        inputTokens,
        outputTokens: 20,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
        reasoningTokens: 0,
        cost: 0.25,
        costSource: 'computed',
      },
    ],
    tools: [{ toolCallId: 'c1', toolName: 'grep', startMs: startMs + 600, endMs: startMs + 700 }],
    firstEventId: `${id}-start`,
    lastEventId: `${id}-end`,
    eventCount: 5,
    closedAtPos: 7,
  };
}

/** Every permutation of `items` (Heap's algorithm). */
function permutations<T>(items: readonly T[]): T[][] {
  const a = [...items];
  const out: T[][] = [[...a]];
  const c = new Array<number>(a.length).fill(0);
  for (let i = 1; i < a.length; ) {
    if (c[i]! < i) {
      const j = i % 2 === 0 ? 0 : c[i]!;
      [a[j], a[i]] = [a[i]!, a[j]!];
      out.push([...a]);
      c[i]!++;
      i = 1;
    } else c[i++] = 0;
  }
  return out;
}

/** Versions of one key, oldest first: time, then seq (−1 = none), then id decide. */
const LADDER: readonly StateVersion[] = [v(0, -1, 'z'), v(0, 0, 'a'), v(0, 0, 'b'), v(0, 7, 'a'), v(1, -1, 'a'), v(2, 3, 'm')];

/**
 * The `SessionStateStore` contract (DESIGN.md §4, §6): every adapter (SQLite, Kafka compacted
 * topic) must pass it. Turns are stored as `TurnRecord`s (the aggregate without per-call lists). `open` returns a fresh, empty store each time.
 */
export function sessionStateStoreContract(name: string, open: () => Promise<OpenedStateStore>): void {
  const withStore = async (fn: (o: OpenedStateStore) => Promise<void>): Promise<void> => {
    const opened = await open();
    try {
      await fn(opened);
    } finally {
      await opened.cleanup();
    }
  };

  describe(`SessionStateStore contract: ${name}`, () => {
    it('an empty store has no keys, totals, sessions, turns, and position 0', () =>
      withStore(async ({ store }) => {
        assert.equal(await store.get('s1', 'k'), undefined);
        assert.deepEqual(await store.list('s1'), {});
        assert.equal(await store.totals('s1'), undefined);
        assert.deepEqual(await store.sessions(), []);
        assert.deepEqual(await store.turns('s1'), []);
        assert.equal(await store.position(), 0);
      }));

    it('last write wins by (time, seq, id), whatever the arrival order (set, delete and commit)', () =>
      withStore(async ({ store }) => {
        const orders = permutations(LADDER.map((_version, i) => i));
        assert.equal(orders.length, 720);
        for (const [n, order] of orders.entries()) {
          for (const i of order) await store.set('s1', `k${n}`, { from: i }, LADDER[i]!);
          // The same race through commit, with the newest write a tombstone.
          const writes = order.map((i) => (i === LADDER.length - 1 ? del('s2', `k${n}`, LADDER[i]!) : set('s2', `k${n}`, { from: i }, LADDER[i]!)));
          await store.commit({ writes, deltas: [], turns: [], position: n + 1 });
        }
        for (let n = 0; n < orders.length; n++) {
          assert.deepEqual(
            await store.get('s1', `k${n}`),
            { value: { from: LADDER.length - 1 }, deleted: false, version: LADDER[LADDER.length - 1] },
            `order ${orders[n]!.join(',')}`,
          );
          const s2 = await store.get('s2', `k${n}`);
          assert.equal(s2?.deleted, true, `order ${orders[n]!.join(',')}`);
          assert.deepEqual(s2?.version, LADDER[LADDER.length - 1]);
        }
        assert.equal(Object.keys(await store.list('s1')).length, orders.length);
        assert.deepEqual(await store.list('s2'), {});
      }));

    it('a tie on time is resolved by seq, then by id; no seq (−1) is older than seq 0', () =>
      withStore(async ({ store }) => {
        const pairs: [StateVersion, StateVersion][] = [
          [v(5, 1, 'zz'), v(5, 2, 'aa')],
          [v(5, 4, 'a'), v(5, 4, 'b')],
          [v(5, -1, 'z'), v(5, 0, 'a')],
          [v(5, 9, 'z'), v(6, -1, 'a')],
        ];
        for (const [i, [older, newer]] of pairs.entries()) {
          await store.set('s', `fwd${i}`, 'older', older);
          await store.set('s', `fwd${i}`, 'newer', newer);
          await store.set('s', `rev${i}`, 'newer', newer);
          await store.set('s', `rev${i}`, 'older', older);
        }
        const expected: Record<string, JsonValue> = {};
        for (let i = 0; i < pairs.length; i++) expected[`fwd${i}`] = expected[`rev${i}`] = 'newer';
        assert.deepEqual(await store.list('s'), expected);
      }));

    it('an equal version keeps the stored value (set and delete)', () =>
      withStore(async ({ store }) => {
        await store.set('s', 'k', 'first', v(1, 2, 'x'));
        await store.set('s', 'k', 'second', v(1, 2, 'x'));
        await store.delete('s', 'k', v(1, 2, 'x'));
        assert.deepEqual(await store.get('s', 'k'), { value: 'first', deleted: false, version: v(1, 2, 'x') });
        await store.delete('s', 'gone', v(1));
        await store.set('s', 'gone', 'back', v(1));
        assert.equal((await store.get('s', 'gone'))?.deleted, true);
      }));

    it('a delete is a tombstone: hidden from list(), older sets do not resurrect it, newer ones do', () =>
      withStore(async ({ store }) => {
        await store.set('s', 'k', { n: 1 }, v(100));
        await store.set('s', 'other', [1, 'two', null, true], v(100));
        await store.delete('s', 'k', v(200));
        assert.deepEqual(await store.get('s', 'k'), { value: undefined, deleted: true, version: v(200) });
        assert.deepEqual(await store.list('s'), { other: [1, 'two', null, true] });
        await store.set('s', 'k', 'stale', v(150));
        await store.commit({ writes: [set('s', 'k', 'stale too', v(199, 99, 'zzz'))], deltas: [], turns: [], position: 1 });
        assert.deepEqual(await store.get('s', 'k'), { value: undefined, deleted: true, version: v(200) });
        assert.deepEqual(await store.list('s'), { other: [1, 'two', null, true] });
        await store.set('s', 'k', { n: 3 }, v(300));
        assert.deepEqual(await store.get('s', 'k'), { value: { n: 3 }, deleted: false, version: v(300) });
        assert.deepEqual(await store.list('s'), { k: { n: 3 }, other: [1, 'two', null, true] });
        // A delete of a key never set still leaves a tombstone that wins over older sets.
        await store.delete('s', 'never', v(50));
        await store.set('s', 'never', 'late', v(40));
        assert.equal((await store.get('s', 'never'))?.deleted, true);
        assert.equal('never' in (await store.list('s')), false);
      }));

    it('sessions are isolated: the same key in two sessions', () =>
      withStore(async ({ store }) => {
        await store.set('s1', 'k', 'one', v(1));
        await store.set('s2', 'k', 'two', v(0));
        await store.delete('s1', 'k', v(10));
        await store.set('s3', 'only-s3', 3, v(0));
        assert.deepEqual(await store.get('s2', 'k'), { value: 'two', deleted: false, version: v(0) });
        assert.equal((await store.get('s1', 'k'))?.deleted, true);
        assert.deepEqual(await store.list('s1'), {});
        assert.deepEqual(await store.list('s2'), { k: 'two' });
        assert.deepEqual(await store.list('s3'), { 'only-s3': 3 });
        assert.equal(await store.get('s2', 'only-s3'), undefined);
      }));

    it('commit applies writes, deltas and turns, and records the position, which never goes back', () =>
      withStore(async ({ store }) => {
        await store.commit({ writes: [set('s1', 'a', 1, v(1))], deltas: [delta('s1', { llmCalls: 2 })], turns: [turn('s1', 't1', 0, T0)], position: 10 });
        assert.equal(await store.position(), 10);
        assert.equal((await store.get('s1', 'a'))?.value, 1);
        assert.equal((await store.totals('s1'))?.llmCalls, 2);
        assert.equal((await store.turns('s1')).length, 1);
        await store.commit({ writes: [], deltas: [], turns: [], position: 4 });
        assert.equal(await store.position(), 10, 'position never goes back');
        await store.commit({ writes: [], deltas: [], turns: [], position: 11 });
        assert.equal(await store.position(), 11);
      }));

    it('commit is all-or-nothing: a failing commit changes nothing', () =>
      withStore(async ({ store }) => {
        await store.commit({ writes: [set('s1', 'a', 1, v(1))], deltas: [delta('s1', { llmCalls: 2 })], turns: [turn('s1', 't1', 0, T0)], position: 10 });
        const unserialisable = 10n as unknown as JsonValue; // JSON cannot hold a BigInt
        const bad: { name: string; writes: StateWrite[]; turns: TurnAggregate[] }[] = [
          {
            name: 'a bad write',
            writes: [set('s1', 'a', 2, v(2)), set('s1', 'b', 1, v(2)), set('s1', 'c', unserialisable, v(2))],
            turns: [turn('s1', 't2', 0, T0 + 5)],
          },
          {
            name: 'a bad turn',
            writes: [set('s1', 'a', 2, v(2)), del('s1', 'a', v(3))],
            turns: [turn('s1', 't1', 1, T0, 999), { ...turn('s1', 't3', 0, T0 + 9), cost: 1n as unknown as number }],
          },
        ];
        for (const b of bad) {
          await assert.rejects(
            store.commit({ writes: b.writes, deltas: [delta('s1', { llmCalls: 5 }), delta('s2', {})], turns: b.turns, position: 20 }),
            (e: unknown) => e instanceof Error,
            b.name,
          );
          assert.equal(await store.position(), 10, b.name);
          assert.deepEqual(await store.list('s1'), { a: 1 }, b.name);
          assert.equal((await store.totals('s1'))?.llmCalls, 2, b.name);
          assert.equal(await store.totals('s2'), undefined, b.name);
          assert.deepEqual(await store.turns('s1'), [turnRecord(turn('s1', 't1', 0, T0))], b.name);
        }
      }));

    it('roll-up deltas sum into totals() and sessions(), within and across commits', () =>
      withStore(async ({ store }) => {
        await store.commit({
          writes: [],
          deltas: [
            delta('s1', {
              llmCalls: 2,
              toolCalls: 1,
              inputTokens: 100,
              outputTokens: 10,
              cacheReadTokens: 1000,
              cacheWriteTokens: 50,
              reasoningTokens: 4,
              cost: 0.5,
              errors: 1,
              firstMs: T0 + 10,
              lastMs: T0 + 20,
            }),
            delta('s2', { llmCalls: 1, inputTokens: 7, cost: 0.125, firstMs: T0 + 100, lastMs: T0 + 200 }),
            delta('s1', { llmCalls: 1, inputTokens: 50, cost: 0.25, firstMs: T0 + 30, lastMs: T0 + 40 }),
          ],
          turns: [],
          position: 3,
        });
        // A revision: adds only the difference, and no turn.
        await store.commit({
          writes: [],
          deltas: [delta('s1', { turns: 0, inputTokens: -20, toolCalls: 2, cost: 0.125, firstMs: T0 + 5, lastMs: T0 + 35 })],
          turns: [],
          position: 4,
        });
        const s1 = {
          turns: 2,
          llmCalls: 3,
          toolCalls: 3,
          inputTokens: 130,
          outputTokens: 10,
          cacheReadTokens: 1000,
          cacheWriteTokens: 50,
          reasoningTokens: 4,
          cost: 0.875,
          errors: 1,
          firstMs: T0 + 5,
          lastMs: T0 + 40,
        };
        const s2 = {
          turns: 1,
          llmCalls: 1,
          toolCalls: 0,
          inputTokens: 7,
          outputTokens: 0,
          cacheReadTokens: 0,
          cacheWriteTokens: 0,
          reasoningTokens: 0,
          cost: 0.125,
          errors: 0,
          firstMs: T0 + 100,
          lastMs: T0 + 200,
        };
        assert.deepEqual(await store.totals('s1'), s1);
        assert.deepEqual(await store.totals('s2'), s2);
        assert.equal(await store.totals('s3'), undefined);
        const all = (await store.sessions()).sort((a, b) => a.session.localeCompare(b.session));
        assert.deepEqual(all, [
          { session: 's1', totals: s1 },
          { session: 's2', totals: s2 },
        ]);
        assert.equal((await store.sessions({ limit: 1 })).length, 1);
      }));

    it('turns() holds the latest revision per turn, in start order; an older revision never replaces a newer one', () =>
      withStore(async ({ store }) => {
        await store.commit({
          writes: [],
          deltas: [],
          turns: [turn('s1', 'late', 0, T0 + 50), turn('s1', 'early', 0, T0 + 10), turn('s2', 'early', 0, T0)],
          position: 1,
        });
        assert.deepEqual(
          (await store.turns('s1')).map((t) => t.turn),
          ['early', 'late'],
        );
        await store.commit({ writes: [], deltas: [], turns: [turn('s1', 'early', 1, T0 + 60, 150)], position: 2 });
        assert.deepEqual(
          await store.turns('s1'),
          [turnRecord(turn('s1', 'late', 0, T0 + 50)), turnRecord(turn('s1', 'early', 1, T0 + 60, 150))],
          'revision 1 replaces 0 (and its start)',
        );
        await store.commit({ writes: [], deltas: [], turns: [turn('s1', 'early', 0, T0 + 10)], position: 3 });
        await store.commit({ writes: [], deltas: [], turns: [turn('s1', 'late', 2, T0 + 50, 300), turn('s1', 'late', 1, T0 + 50, 200)], position: 4 });
        assert.deepEqual(await store.turns('s1'), [turnRecord(turn('s1', 'late', 2, T0 + 50, 300)), turnRecord(turn('s1', 'early', 1, T0 + 60, 150))]);
        assert.deepEqual(await store.turns('s2'), [turnRecord(turn('s2', 'early', 0, T0))]);
        assert.deepEqual(await store.turns('s3'), []);
      }));

    it(`the reserved key prefix ${RESERVED_KEY_PREFIX} never appears in list()`, () =>
      withStore(async ({ store }) => {
        await store.commit({ writes: [set('s1', 'mine', 'yes', v(1))], deltas: [delta('s1', { llmCalls: 1 })], turns: [turn('s1', 't', 0, T0)], position: 1 });
        await store.commit({ writes: [], deltas: [delta('s2', {})], turns: [], position: 2 });
        assert.deepEqual(await store.list('s1'), { mine: 'yes' });
        assert.deepEqual(await store.list('s2'), {});
        assert.ok((await store.totals('s2')) !== undefined);
      }));

    it('everything survives close and reopen', () =>
      withStore(async ({ store, reopen }) => {
        await store.set('s1', 'kept', { deep: [1, { x: 'ü' }] }, v(10, 2, 'id1'));
        await store.delete('s1', 'gone', v(20));
        await store.set('s2', 'kept', 'other session', v(5));
        await store.commit({
          writes: [set('s1', 'c', 3, v(30))],
          deltas: [delta('s1', { llmCalls: 4, cost: 0.5 })],
          turns: [turn('s1', 't1', 1, T0)],
          position: 42,
        });
        const snapshot = async (s: SessionStateStore) => ({
          kept: await s.get('s1', 'kept'),
          gone: await s.get('s1', 'gone'),
          list1: await s.list('s1'),
          list2: await s.list('s2'),
          totals: await s.totals('s1'),
          sessions: await s.sessions(),
          turns: await s.turns('s1'),
          position: await s.position(),
        });
        const before = await snapshot(store);
        assert.deepEqual(before.list1, { c: 3, kept: { deep: [1, { x: 'ü' }] } });
        const again = await reopen();
        assert.deepEqual(await snapshot(again), before);
        await again.set('s1', 'gone', 'stale', v(19));
        assert.equal((await again.get('s1', 'gone'))?.deleted, true, 'a tombstone survives reopen');
        // A commit not beyond the stored position was applied already: ignored whole (exactly-once).
        await again.commit({ writes: [set('s1', 'c', 99, v(99))], deltas: [delta('s1', { llmCalls: 1 })], turns: [turn('s1', 't1', 0, T0)], position: 41 });
        assert.equal((await again.totals('s1'))?.llmCalls, 4);
        assert.deepEqual((await again.list('s1'))['c'], 3);
        await again.commit({ writes: [], deltas: [delta('s1', { llmCalls: 1 })], turns: [], position: 43 });
        assert.equal((await again.totals('s1'))?.llmCalls, 5);
        assert.equal((await again.turns('s1'))[0]?.revision, 1);
        assert.equal(await again.position(), 43);
      }));
  });
}
