import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { filter, map, merge, type OperatorFunction, share, Subject } from 'rxjs';
import { createPriceTable } from '../../src/events/price-table.ts';
import { priceUsage } from '../../src/events/price-usage.ts';
import type { LlmUsageEvent, LoggedEvent } from '../../src/events/step-event.ts';
import { parseBudgetRules } from '../../src/streams/budget-rule.ts';
import { checkBudgets, type BudgetsSnapshot } from '../../src/streams/check-budgets.ts';
import type { ClosedTurns, OperatorState } from '../../src/streams/operator-state.ts';
import { priceAndDedupe, type DedupeSnapshot } from '../../src/streams/price-and-dedupe.ts';
import { windowTurns, type WindowsSnapshot } from '../../src/streams/window-turns.ts';
import { CopyableClosedTurns, randomStream, seeded } from './random-stream.ts';
import { turnStart } from './make-events.ts';

const table = createPriceTable();
const price = (u: LlmUsageEvent) => priceUsage(u, table);
const timing = { turnIdleTimeoutMs: 20_000, graceMs: 10_000, sweepIntervalMs: 1_000 };
const rules = parseBudgetRules({
  rules: [
    { name: 'per-session', scope: 'session', soft: 0.2, hard: 0.5 },
    { name: 'agent-minute', scope: 'agent', window: '1m', soft: 0.2, hard: 0.4 },
    { name: 'user-2m', scope: 'user', window: '2m', hard: 0.8 },
    { name: 'all-hour', scope: 'global', window: '1h', soft: 1, hard: 3 },
  ],
});

/** One subscription of an operator, fed one event at a time; what each event made it emit. */
interface Runner {
  feed(logged: LoggedEvent): unknown[];
  snapshot(): unknown;
}
/** Subscribes an operator (built with `state` and `closed`) to a fresh input. */
type Start = (initial: unknown, closed: ClosedTurns) => Runner;

function runner<S>(make: (state: OperatorState<S>, closed: ClosedTurns) => OperatorFunction<LoggedEvent, unknown>): Start {
  return (initial, closed) => {
    const input = new Subject<LoggedEvent>();
    let current: unknown[] = [];
    let get: (() => S) | undefined;
    let failed: { error: unknown } | undefined;
    const state: OperatorState<S> = { ...(initial === undefined ? {} : { initial: initial as S }), expose: (g) => (get = g) };
    input.pipe(make(state, closed)).subscribe({ next: (o) => current.push(o), error: (error: unknown) => (failed = { error }) });
    return {
      feed: (logged) => {
        current = [];
        input.next(logged);
        if (failed !== undefined) throw failed.error;
        return current;
      },
      snapshot: () => get!(),
    };
  };
}

const windows = runner<WindowsSnapshot>((state, closedTurns) => windowTurns({ ...timing, price, closedTurns, state }));
const dedupe = runner<DedupeSnapshot>((state, closedTurns) => priceAndDedupe({ ...timing, price, dedupe: true, closedTurns, state }));
const budgets = runner<BudgetsSnapshot>((state) => checkBudgets({ rules, price, state }));

/** The Processor's chain: dedupe, then the windows on what passed, one `ClosedTurns` for both; snapshots of both. */
const chain: Start = (initial, closed) => {
  const parts = initial as { dedupe: DedupeSnapshot; windows: WindowsSnapshot } | undefined;
  let d: (() => DedupeSnapshot) | undefined;
  let w: (() => WindowsSnapshot) | undefined;
  const input = new Subject<LoggedEvent>();
  let current: unknown[] = [];
  const screened = input.pipe(
    priceAndDedupe({ ...timing, price, dedupe: true, closedTurns: closed, state: { ...(parts ? { initial: parts.dedupe } : {}), expose: (g) => (d = g) } }),
    share(),
  );
  const passed = screened.pipe(
    filter((s) => s.kind === 'event'),
    map((s) => s.logged),
  );
  const windowed = passed.pipe(
    windowTurns({ ...timing, price, closedTurns: closed, state: { ...(parts ? { initial: parts.windows } : {}), expose: (g) => (w = g) } }),
  );
  merge(screened.pipe(filter((s) => s.kind === 'duplicate')), windowed).subscribe((o) => current.push(o));
  return {
    feed: (logged) => {
      current = [];
      input.next(logged);
      return current;
    },
    snapshot: () => ({ dedupe: d!(), windows: w!() }),
  };
};

/**
 * Runs `start` over `events` uninterrupted, then, for each cut k in `cuts`, restores a fresh
 * subscription from the JSON of the snapshot taken after events[0..k) (with the `ClosedTurns` as
 * it was then) and feeds it events[k..]: its outputs must be the uninterrupted run's after k, and
 * its final snapshot the same.
 */
function checkCuts(name: string, start: Start, events: readonly LoggedEvent[], cuts: readonly number[]): number {
  const closed = new CopyableClosedTurns();
  const whole = start(undefined, closed);
  const snaps = [JSON.stringify(whole.snapshot())];
  const closedAt = [closed.copy()];
  const outputs: unknown[][] = [];
  for (const e of events) {
    outputs.push(whole.feed(e));
    snaps.push(JSON.stringify(whole.snapshot()));
    closedAt.push(closed.copy());
  }
  for (const k of cuts) {
    const restored = start(JSON.parse(snaps[k]!), closedAt[k]!.copy());
    const tail = events.slice(k).map((e) => restored.feed(e));
    assert.deepStrictEqual(tail, outputs.slice(k), `${name}: outputs after a restore at cut ${k}`);
    assert.equal(JSON.stringify(restored.snapshot()), snaps[events.length], `${name}: final state after a restore at cut ${k}`);
  }
  return outputs.flat().length;
}

const every = (n: number): number[] => Array.from({ length: n + 1 }, (_, k) => k);

describe('operator snapshots: restore at any cut point gives the uninterrupted run', () => {
  const operators: [string, Start][] = [
    ['windowTurns', windows],
    ['priceAndDedupe', dedupe],
    ['priceAndDedupe → windowTurns', chain],
    ['checkBudgets', budgets],
  ];
  for (const [name, start] of operators) {
    it(`${name}: every cut of 4 random streams, random cuts of 30 more`, () => {
      let emitted = 0;
      for (let seed = 1; seed <= 34; seed++) {
        const events = randomStream(seed, { sessions: seed <= 4 ? 8 : 14, idleMs: timing.turnIdleTimeoutMs, graceMs: timing.graceMs });
        const rand = seeded(seed * 7919);
        const cuts = seed <= 4 ? every(events.length) : Array.from({ length: 12 }, () => Math.floor(rand() * (events.length + 1)));
        emitted += checkCuts(`${name} seed ${seed}`, start, events, cuts);
      }
      assert.ok(emitted > 300, `the streams made the operator emit (${emitted} outputs)`);
    });
  }

  it('the random streams cover every kind of windows output: completed, abandoned, revised, late', () => {
    const kinds = new Set<string>();
    for (let seed = 1; seed <= 34; seed++) {
      const run = windows(undefined, new CopyableClosedTurns());
      for (const e of randomStream(seed, { sessions: 14, idleMs: timing.turnIdleTimeoutMs, graceMs: timing.graceMs })) {
        for (const o of run.feed(e) as { kind: string; aggregate?: { status: string; revision: number } }[]) {
          kinds.add(o.aggregate === undefined ? o.kind : `${o.aggregate.status}${o.aggregate.revision > 0 ? '/revised' : ''}`);
        }
      }
    }
    for (const kind of ['completed', 'abandoned', 'completed/revised', 'abandoned/revised', 'late']) assert.ok(kinds.has(kind), `covers ${kind}`);
  });

  it('the random streams cover budget alerts firing and resolving, for every rule', () => {
    const seen = new Set<string>();
    for (let seed = 1; seed <= 34; seed++) {
      const run = budgets(undefined, new CopyableClosedTurns());
      for (const e of randomStream(seed, { sessions: 14, idleMs: timing.turnIdleTimeoutMs, graceMs: timing.graceMs })) {
        for (const a of run.feed(e) as { rule: string; status: string }[]) seen.add(`${a.rule}/${a.status}`);
      }
    }
    for (const rule of ['per-session', 'agent-minute', 'user-2m', 'all-hour']) assert.ok(seen.has(`${rule}/firing`), `${rule} fires`);
    for (const rule of ['agent-minute', 'user-2m']) assert.ok(seen.has(`${rule}/resolved`), `${rule} resolves`);
  });
});

describe('priceAndDedupe and windowTurns decide identically', () => {
  it('hold the same turns and sessions with the same clocks after every event, and release the same turns', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const events = randomStream(seed, { sessions: 14, idleMs: timing.turnIdleTimeoutMs, graceMs: timing.graceMs });
      const closedW = new CopyableClosedTurns();
      const closedD = new CopyableClosedTurns();
      const w = windows(undefined, closedW);
      const d = dedupe(undefined, closedD);
      for (const e of events) {
        const verdict = d.feed(e) as { kind: string }[];
        if (verdict[0]?.kind === 'event') w.feed(e);
        const sw = (w.snapshot() as WindowsSnapshot).held;
        const sd = (d.snapshot() as DedupeSnapshot).held;
        const noBody = <B>(h: WindowsSnapshot['held'] | DedupeSnapshot['held']) => ({ ...h, turns: h.turns.map((t) => t.slice(0, 7)) }) as unknown as B;
        assert.deepStrictEqual(noBody(sw), noBody(sd), `seed ${seed}, after position ${e.pos}`);
      }
      assert.deepStrictEqual(closedD.log, closedW.log, `seed ${seed}: the same releases in the same order`);
      assert.ok(closedW.log.length > 0, `seed ${seed} releases turns`);
    }
  });
});

describe('operator snapshots: damaged ones', () => {
  // Each made for the operator's own snapshot version `v`, so only the named damage is wrong.
  const wrong: [string, (v: number) => unknown][] = [
    ['not an object', () => 'oops'],
    ['another version', (v) => ({ v: v + 1, held: {}, texts: [] })],
    ['a missing list', (v) => ({ v, held: { wm: null, bucket: null, clock: null, sessions: [] }, texts: [] })],
    ['a short tuple', (v) => ({ v, held: { wm: 1, bucket: 0, clock: 1, sessions: [['s1', null, null, 1]], turns: [] }, texts: [] })],
    [
      'a turn of a session it does not hold',
      (v) => ({ v, held: { wm: 1, bucket: 0, clock: 1, sessions: [], turns: [['s1', 't1', 1, 1, null, null, -1, []]] }, texts: [] }),
    ],
    [
      'the same turn held twice',
      // Closed, so that each body is valid as it is (windows v2: a text, read when used; dedupe v1: ids).
      (v) => ({
        v,
        held: { wm: 1, bucket: 0, clock: 1, sessions: [['s1', null, null, 1, 1]], turns: [0, 1].map(() => ['s1', 't1', 1, 1, 1, 1, 3, v === 2 ? 0 : []]) },
        texts: ['{}'],
      }),
    ],
    [
      'a closed turn naming a text it does not hold',
      (v) => ({ v, held: { wm: 1, bucket: 0, clock: 1, sessions: [['s1', null, null, 1, 1]], turns: [['s1', 't1', 1, 1, 1, 1, 3, 0]] }, texts: [] }),
    ],
  ];
  /** The error a subscription of `make(initial)` reports, before any event. */
  const errorOf = (make: (initial: unknown) => OperatorFunction<LoggedEvent, unknown>, initial: unknown): unknown => {
    let error: unknown;
    new Subject<LoggedEvent>().pipe(make(initial)).subscribe({ error: (e: unknown) => (error = e) });
    return error;
  };
  const makers: [string, number, (initial: unknown) => OperatorFunction<LoggedEvent, unknown>][] = [
    ['windowTurns', 2, (initial) => windowTurns({ price, state: { initial: initial as WindowsSnapshot } })],
    ['priceAndDedupe', 1, (initial) => priceAndDedupe({ price, dedupe: true, state: { initial: initial as DedupeSnapshot } })],
  ];
  for (const [what, initial] of wrong) {
    it(`make the output error at subscription: ${what}`, () => {
      for (const [name, v, make] of makers) {
        const error = errorOf(make, initial(v));
        assert.ok(error instanceof Error, `${name} reports an Error`);
        assert.match(error.message, new RegExp(`^${name}: the checkpoint snapshot is not valid: `));
        if (what === 'the same turn held twice') assert.match(error.message, /turns\[1\] holds turn "t1" of session "s1" a second time/);
      }
    });
  }

  it('checkBudgets rejects a snapshot taken with another number of rules, or a wrong level', () => {
    const make = (initial: unknown) => checkBudgets({ rules, price, state: { initial: initial as BudgetsSnapshot } });
    const good = { v: 1, wm: null, lastSweep: null, sums: [[], [], [], []], sessions: [] };
    assert.equal(errorOf(make, good), undefined);
    const fewer = errorOf(make, { ...good, sums: [[]] });
    assert.match((fewer as Error).message, /^checkBudgets: the checkpoint snapshot is not valid: sums has 1 items, not 4/);
    const level = errorOf(make, { ...good, sums: [[['s1', [], 0, 0, ['loud']]], [], [], []] });
    assert.match((level as Error).message, /sums\[0\]\[0\] firing holds a level other than soft or hard/);
  });

  it('a valid snapshot of an empty operator restores to an operator that works', () => {
    const run = windows(windows(undefined, new CopyableClosedTurns()).snapshot(), new CopyableClosedTurns());
    assert.deepStrictEqual(run.feed(turnStart({ id: 'a', at: 0, pos: 1 })), []);
    assert.equal((run.snapshot() as WindowsSnapshot).held.turns.length, 1);
  });
});
