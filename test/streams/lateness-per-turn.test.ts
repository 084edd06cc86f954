import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { filter, from, lastValueFrom, map, share, Subject, toArray } from 'rxjs';
import { createPriceTable } from '../../src/events/price-table.ts';
import { priceUsage } from '../../src/events/price-usage.ts';
import type { LlmUsageEvent, LoggedEvent } from '../../src/events/step-event.ts';
import type { TurnAggregate } from '../../src/model/turn-aggregate.ts';
import { parseBudgetRules } from '../../src/streams/budget-rule.ts';
import { checkBudgets, type BudgetsSnapshot } from '../../src/streams/check-budgets.ts';
import { priceAndDedupe, type DedupeSnapshot } from '../../src/streams/price-and-dedupe.ts';
import { windowTurns, type WindowOutput, type WindowsSnapshot } from '../../src/streams/window-turns.ts';
import { llmUsage, sessionEnd, sessionStart, stateSet, toolEnd, toolStart, turnEnd, turnStart } from './make-events.ts';

const table = createPriceTable();
const price = (u: LlmUsageEvent) => priceUsage(u, table);
const timing = { turnIdleTimeoutMs: 60_000, graceMs: 30_000, sweepIntervalMs: 1_000 };
const DAY = 86_400_000;

/** The Processor's chain: dedupe, then the windows on what passed (sharing the default `ClosedTurns` of each). */
function screenedWindows(events: readonly LoggedEvent[]): Promise<WindowOutput[]> {
  const screened = from(events).pipe(priceAndDedupe({ ...timing, price, dedupe: true }), share());
  return lastValueFrom(
    screened.pipe(
      filter((s) => s.kind === 'event'),
      map((s) => s.logged),
      windowTurns({ ...timing, price }),
      toArray(),
    ),
  );
}

/** Renumbers a log in arrival order, from position 1. */
const numbered = (events: readonly LoggedEvent[]): LoggedEvent[] => events.map((l, i) => ({ pos: i + 1, event: l.event }));

/** Live traffic: `sessions` sessions taking turns, one event per second of event time from `fromAt`. */
function liveTraffic(count: number, fromAt = 0, sessions = 4): LoggedEvent[] {
  return Array.from({ length: count }, (_, i) => {
    const session = `live${i % sessions}`;
    const turn = `lt${Math.floor(i / (2 * sessions))}`;
    const at = fromAt + i * 1000;
    return Math.floor(i / sessions) % 2 === 0
      ? turnStart({ id: `live-${fromAt}-${i}`, at, session, turn })
      : turnEnd({ id: `live-${fromAt}-${i}`, at, session, turn });
  });
}

/** Session `imp`, 30 days older than the live traffic: a history import (transcripts of last month). */
function importedSession(): LoggedEvent[] {
  const base = { session: 'imp' };
  const at = (ms: number) => ms - 30 * DAY;
  return [
    sessionStart({ ...base, id: 'i1', at: at(0), agent: 'importer', user: 'u9' }),
    turnStart({ ...base, id: 'i2', at: at(1_000), turn: 't1' }),
    llmUsage({ ...base, id: 'i3', at: at(3_000), turn: 't1', inputTokens: 1000, outputTokens: 100 }),
    toolStart({ ...base, id: 'i4', at: at(3_100), turn: 't1', toolCallId: 'c1', toolName: 'bash' }),
    toolEnd({ ...base, id: 'i5', at: at(3_400), turn: 't1', toolCallId: 'c1', toolName: 'bash' }),
    turnEnd({ ...base, id: 'i6', at: at(4_000), turn: 't1', stopReason: 'end_turn' }),
    llmUsage({ ...base, id: 'i7', at: at(3_500), turn: 't1', model: 'claude-haiku-4-5', inputTokens: 50, outputTokens: 5 }), // within grace: a revision
    llmUsage({ ...base, id: 'i3', at: at(3_000), turn: 't1', inputTokens: 1000, outputTokens: 100 }), // a repeat: dropped by dedupe
    turnStart({ ...base, id: 'i8', at: at(10_000), turn: 't2' }),
    llmUsage({ ...base, id: 'i9', at: at(12_000), turn: 't2', inputTokens: 10, outputTokens: 1 }), // t2 never ends
    turnStart({ ...base, id: 'i10', at: at(130_000), turn: 't3' }), // the session's own clock passes t2's idle timeout
    llmUsage({ ...base, id: 'i11', at: at(131_000), turn: 't3', inputTokens: 20, outputTokens: 2 }),
    turnEnd({ ...base, id: 'i12', at: at(132_000), turn: 't3' }),
    turnStart({ ...base, id: 'i13', at: at(140_000), turn: 't4' }),
    sessionEnd({ ...base, id: 'i14', at: at(141_000) }), // closes t4
  ];
}

/** `imp`'s aggregates, without the log positions (they differ when other sessions' events sit between). */
function importAggregates(out: readonly WindowOutput[]): unknown[] {
  const strip = (a: TurnAggregate): unknown => ({ ...a, closedAtPos: 0, ...(a.supersedes === undefined ? {} : { supersedes: strip(a.supersedes) }) });
  return out.flatMap((o) => (o.kind === 'turn' && o.aggregate.session === 'imp' ? [strip(o.aggregate)] : o.kind === 'late' ? ['late'] : []));
}

/** `imp` fed into live traffic: two live events (seconds) before each of its events. */
function busy(imported: readonly LoggedEvent[], live = liveTraffic(2 * imported.length + 10)): LoggedEvent[] {
  const out: LoggedEvent[] = [];
  for (const [i, e] of imported.entries()) out.push(...live.slice(2 * i, 2 * i + 2), e);
  out.push(...live.slice(2 * imported.length));
  return numbered(out);
}

describe('lateness per turn', () => {
  it('processes a session 30 days older than the watermark normally: aggregates, no late event', async () => {
    const out = await screenedWindows(busy(importedSession()));
    const view = out.flatMap((o) =>
      o.kind === 'late'
        ? ['late']
        : o.aggregate.session === 'imp'
          ? [`${o.aggregate.turn} r${o.aggregate.revision} ${o.aggregate.status} ${o.aggregate.agent}`]
          : [],
    );
    assert.deepStrictEqual(view, [
      't1 r0 completed importer',
      't1 r1 completed importer',
      't2 r0 abandoned importer',
      't3 r0 completed importer',
      't4 r0 abandoned importer',
    ]);
  });

  it('gives the same aggregates to a session imported into a busy stream as to the session alone', async () => {
    const alone = importAggregates(await screenedWindows(numbered(importedSession())));
    assert.equal(alone.length, 5);
    assert.deepStrictEqual(importAggregates(await screenedWindows(busy(importedSession()))), alone);
    // The same through the windows alone (no dedupe step): the repeat then counts, in both runs alike.
    const windowsOnly = async (events: LoggedEvent[]) => importAggregates(await lastValueFrom(from(events).pipe(windowTurns({ ...timing, price }), toArray())));
    assert.deepStrictEqual(await windowsOnly(busy(importedSession())), await windowsOnly(numbered(importedSession())));
  });

  it('makes an event late once its turn closed and its grace passed: on the live clock, or on the session’s own clock', async () => {
    const imported = importedSession().slice(0, 7); // t1 closed, then revised
    const t1 = (id: string, ms: number) => toolStart({ session: 'imp', turn: 't1', id, at: ms - 30 * DAY, toolCallId: id, toolName: 'late' });
    // Live clock: 40 s of live traffic after the import (grace 30 s): t1 is released; its next event is late.
    const byLiveClock = await screenedWindows(numbered([...busy(imported, liveTraffic(14)), ...liveTraffic(40, 14_000), t1('x1', 3_600)]));
    assert.deepStrictEqual(importAggregates(byLiveClock).slice(-1), ['late']);
    // Session clock: the session itself moves 31 s past t1's close while the live clock stands still (no release yet)…
    const moved = llmUsage({ session: 'imp', turn: 't5', id: 'x2', at: 35_001 - 30 * DAY, inputTokens: 1, outputTokens: 1 });
    const withinGrace = await screenedWindows(numbered([...busy(imported, liveTraffic(14)), t1('x3', 3_700)]));
    const last = importAggregates(withinGrace).at(-1) as TurnAggregate;
    assert.deepStrictEqual([last.turn, last.revision, last.toolNames], ['t1', 2, ['bash', 'late']], 'within grace: a revision');
    // … and the next sweep (one live second later) releases t1 by the session's clock.
    const bySessionClock = await screenedWindows(numbered([...busy(imported, liveTraffic(14)), moved, ...liveTraffic(1, 14_000), t1('x4', 3_800)]));
    assert.deepStrictEqual(importAggregates(bySessionClock).slice(-1), ['late']);
  });

  it('sweeps after a late event that moves the watermark, as after any other', async () => {
    const events = numbered([
      turnStart({ id: 'a', at: 0, turn: 't1' }),
      turnEnd({ id: 'b', at: 1_000, turn: 't1' }),
      turnStart({ id: 'c', at: 40_000, turn: 't2' }), // t1 released (1000 + 30_000 < 40_000)
      toolStart({ id: 'd', at: 100_001, turn: 't1', toolCallId: 'k', toolName: 'bash' }), // late, and moves the watermark past t2's idle timeout
    ]);
    const out = await screenedWindows(events);
    assert.deepStrictEqual(
      out.map((o) => (o.kind === 'late' ? `late ${o.logged.event.id}` : `${o.aggregate.turn} ${o.aggregate.status} @${o.aggregate.closedAtPos}`)),
      ['t1 completed @2', 'late d', 't2 abandoned @4'],
    );
  });

  it('a repeat moves no clock of the dedupe step', () => {
    const input = new Subject<LoggedEvent>();
    let snapshot: (() => DedupeSnapshot) | undefined;
    input.pipe(priceAndDedupe({ ...timing, price, dedupe: true, state: { expose: (s) => (snapshot = s) } })).subscribe();
    input.next({ pos: 1, event: turnStart({ id: 'a', at: 0 }).event });
    input.next({ pos: 2, event: llmUsage({ id: 'b', at: 500, inputTokens: 1, outputTokens: 1 }).event });
    const before = JSON.stringify(snapshot!());
    input.next({ pos: 3, event: llmUsage({ id: 'b', at: 90_000, inputTokens: 1, outputTokens: 1 }).event }); // same id, far newer time
    assert.equal(JSON.stringify(snapshot!()), before);
  });
});

describe('memory bound', () => {
  it('holds no turn and no session once N sessions ended or idled and their grace passed', () => {
    const N = 300;
    const events: LoggedEvent[] = [];
    for (let s = 0; s < N; s++) {
      const session = `m${s}`;
      const at = (ms: number) => ms + s * 200 - (s % 4 === 0 ? 30 * DAY : 0); // a quarter of them lagging by 30 days
      events.push(sessionStart({ session, id: `${session}a`, at: at(0), agent: 'a', user: 'u' }));
      events.push(turnStart({ session, turn: 't', id: `${session}b`, at: at(10) }));
      events.push(llmUsage({ session, turn: 't', id: `${session}c`, at: at(20), inputTokens: 1000, outputTokens: 10, cost: 0.01 }));
      if (s % 3 !== 0) events.push(turnEnd({ session, turn: 't', id: `${session}d`, at: at(30) })); // else it idles
      if (s % 2 === 0) events.push(sessionEnd({ session, id: `${session}e`, at: at(40) }));
    }
    // Event time moves on (a day and more: past idle, grace, and the budgets' 24 h idle release).
    for (const [i, ms] of [25, 26, 27].entries()) events.push(stateSet({ session: 'tick', id: `tick${i}`, at: ms * 3_600_000, key: 'k', value: i }));
    const log = numbered(events);
    const rules = parseBudgetRules({
      rules: [
        { name: 'session', scope: 'session', soft: 1 },
        { name: 'agent', scope: 'agent', window: '1h', soft: 100 },
      ],
    });
    const snaps: { windows?: () => WindowsSnapshot; dedupe?: () => DedupeSnapshot; budgets?: () => BudgetsSnapshot } = {};
    const input = new Subject<LoggedEvent>();
    let aggregates = 0;
    input.pipe(windowTurns({ ...timing, price, state: { expose: (s) => (snaps.windows = s) } })).subscribe(() => aggregates++);
    input.pipe(priceAndDedupe({ ...timing, price, dedupe: true, state: { expose: (s) => (snaps.dedupe = s) } })).subscribe();
    input.pipe(checkBudgets({ rules, price, state: { expose: (s) => (snaps.budgets = s) } })).subscribe();
    for (const e of log.slice(0, -3)) input.next(e);
    assert.ok(snaps.windows!().held.turns.length > N / 3, 'turns are held while their sessions are live');
    for (const e of log.slice(-3)) input.next(e);
    assert.equal(aggregates, N, 'every turn closed once');
    for (const held of [snaps.windows!().held, snaps.dedupe!().held]) {
      assert.deepStrictEqual({ turns: held.turns.length, sessions: held.sessions.map((s) => s[0]) }, { turns: 0, sessions: ['tick'] });
    }
    const b = snaps.budgets!();
    assert.deepStrictEqual({ sums: b.sums.map((r) => r.length), sessions: b.sessions.map((s) => s[0]) }, { sums: [0, 0], sessions: ['tick'] });
  });
});
