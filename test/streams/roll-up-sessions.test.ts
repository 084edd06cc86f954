import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { filter, from, lastValueFrom, map, take, toArray, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { createPriceTable } from '../../src/events/price-table.ts';
import { priceUsage } from '../../src/events/price-usage.ts';
import type { LlmUsageEvent } from '../../src/events/step-event.ts';
import { rollUpSessions } from '../../src/streams/roll-up-sessions.ts';
import { EMPTY_SESSION_TOTALS, addDelta, type SessionDelta, type SessionTotals } from '../../src/model/session-totals.ts';
import type { TurnAggregate } from '../../src/model/turn-aggregate.ts';
import { windowTurns } from '../../src/streams/window-turns.ts';
import { T0, inLogOrder, llmUsage, roundCosts, sessionEnd, toolEnd, toolStart, turnEnd, turnStart } from './make-events.ts';

type Totals = Pick<
  TurnAggregate,
  'llmCalls' | 'toolCalls' | 'inputTokens' | 'outputTokens' | 'cacheReadTokens' | 'cacheWriteTokens' | 'reasoningTokens' | 'cost' | 'errors'
>;

/** A hand-built aggregate: only the fields roll-ups read matter, the rest is filler. */
function aggregate(session: string, turn: string, revision: number, startMs: number, endMs: number, totals: Totals, supersedes?: TurnAggregate): TurnAggregate {
  return {
    session,
    turn,
    revision,
    status: 'completed',
    startMs,
    endMs,
    durationMs: endMs - startMs,
    toolNames: [],
    models: [],
    llm: [],
    tools: [],
    firstEventId: `${turn}-first`,
    lastEventId: `${turn}-last`,
    eventCount: 1,
    closedAtPos: 1,
    ...totals,
    ...(supersedes === undefined ? {} : { supersedes }),
  };
}
const plain = ({ supersedes: _s, ...a }: TurnAggregate): TurnAggregate => a;

// Costs are binary fractions (0.25, 0.375, 0.5), so differences are exact.
const a0 = aggregate('s1', 't1', 0, T0, T0 + 1000, {
  llmCalls: 2,
  toolCalls: 1,
  inputTokens: 100,
  outputTokens: 50,
  cacheReadTokens: 10,
  cacheWriteTokens: 5,
  reasoningTokens: 2,
  cost: 0.25,
  errors: 0,
});
const a1 = aggregate(
  's1',
  't1',
  1,
  T0,
  T0 + 1500,
  {
    llmCalls: 3,
    toolCalls: 1,
    inputTokens: 160,
    outputTokens: 70,
    cacheReadTokens: 10,
    cacheWriteTokens: 5,
    reasoningTokens: 2,
    cost: 0.375,
    errors: 1,
  },
  a0,
);
const a2 = aggregate(
  's1',
  't1',
  2,
  T0,
  T0 + 1800,
  {
    llmCalls: 3,
    toolCalls: 2,
    inputTokens: 160,
    outputTokens: 70,
    cacheReadTokens: 10,
    cacheWriteTokens: 5,
    reasoningTokens: 2,
    cost: 0.375,
    errors: 1,
  },
  plain(a1),
);
const b0 = aggregate('s2', 't1', 0, T0 + 200, T0 + 700, {
  llmCalls: 1,
  toolCalls: 0,
  inputTokens: 40,
  outputTokens: 4,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
  reasoningTokens: 0,
  cost: 0.5,
  errors: 0,
});

const zero = {
  turns: 0,
  llmCalls: 0,
  toolCalls: 0,
  inputTokens: 0,
  outputTokens: 0,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
  reasoningTokens: 0,
  cost: 0,
  errors: 0,
};
// First close: the whole turn, turns 1.
const x: SessionDelta = {
  ...zero,
  session: 's1',
  turns: 1,
  llmCalls: 2,
  toolCalls: 1,
  inputTokens: 100,
  outputTokens: 50,
  cacheReadTokens: 10,
  cacheWriteTokens: 5,
  reasoningTokens: 2,
  cost: 0.25,
  firstMs: T0,
  lastMs: T0 + 1000,
};
// Revision 1 − revision 0: llm 3−2, input 160−100, output 70−50, cost 0.375−0.25, errors 1−0; turns 0.
const y: SessionDelta = { ...zero, session: 's1', llmCalls: 1, inputTokens: 60, outputTokens: 20, cost: 0.125, errors: 1, firstMs: T0, lastMs: T0 + 1500 };
// Revision 2 − revision 1: one more tool call.
const w: SessionDelta = { ...zero, session: 's1', toolCalls: 1, firstMs: T0, lastMs: T0 + 1800 };
const z: SessionDelta = { ...zero, session: 's2', turns: 1, llmCalls: 1, inputTokens: 40, outputTokens: 4, cost: 0.5, firstMs: T0 + 200, lastMs: T0 + 700 };

const scheduler = () => new TestScheduler((actual, expected) => assert.deepStrictEqual(actual, expected));
const values = { a: a0, b: a1, c: b0, d: a2 };
const deltas = { x, y, z, w };

/** Sums deltas per session, the way the store does. */
function sumBySession(ds: readonly SessionDelta[]): Map<string, SessionTotals> {
  const totals = new Map<string, SessionTotals>();
  for (const { session, ...d } of ds) totals.set(session, addDelta(totals.get(session) ?? EMPTY_SESSION_TOTALS, d));
  return totals;
}
const collect = (aggregates: Observable<TurnAggregate>) => lastValueFrom(aggregates.pipe(rollUpSessions(), toArray()));

describe('rollUpSessions (marbles)', () => {
  it('turns a first close into the whole turn and a revision into the difference', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold('-a-b-c-d-|', values);
      expectObservable(src.pipe(rollUpSessions())).toBe('-x-y-z-w-|', deltas);
      expectSubscriptions(src.subscriptions).toBe('^--------!');
    });
  });

  it('maps aggregates of sessions in any interleaving, each against its own supersedes', () => {
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('-c-a-b-d-|', values).pipe(rollUpSessions())).toBe('-z-x-y-w-|', deltas);
    });
  });

  it('completes with its source and unsubscribes when the consumer completes early', () => {
    scheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      expectObservable(cold('-a|', values).pipe(rollUpSessions())).toBe('-x|', deltas);
      const src = hot('-a-b-c-|', values);
      expectObservable(src.pipe(rollUpSessions(), take(1))).toBe('-(x|)', deltas);
      expectSubscriptions(src.subscriptions).toBe('^!');
    });
  });

  it('passes errors through', () => {
    const boom = new Error('boom');
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold('-a-#', values, boom);
      expectObservable(src.pipe(rollUpSessions())).toBe('-x-#', deltas, boom);
      expectSubscriptions(src.subscriptions).toBe('^--!');
    });
  });

  it('stops on unsubscribe', () => {
    scheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const src = hot('-a-b-c-d-|', values);
      expectObservable(src.pipe(rollUpSessions()), '^--!').toBe('-x-', deltas);
      expectSubscriptions(src.subscriptions).toBe('^--!');
    });
  });
});

describe('rollUpSessions totals', () => {
  it('sums to the latest revision of each turn, whatever the interleaving of sessions', async () => {
    const expected = new Map<string, SessionTotals>([
      [
        's1',
        {
          ...zero,
          turns: 1,
          llmCalls: 3,
          toolCalls: 2,
          inputTokens: 160,
          outputTokens: 70,
          cacheReadTokens: 10,
          cacheWriteTokens: 5,
          reasoningTokens: 2,
          cost: 0.375,
          errors: 1,
          firstMs: T0,
          lastMs: T0 + 1800,
        },
      ],
      ['s2', { ...zero, turns: 1, llmCalls: 1, inputTokens: 40, outputTokens: 4, cost: 0.5, firstMs: T0 + 200, lastMs: T0 + 700 }],
    ]);
    for (const order of [
      [a0, a1, a2, b0],
      [b0, a0, a1, a2],
      [a0, b0, a1, a2],
      [a0, a1, b0, a2],
    ]) {
      assert.deepStrictEqual(sumBySession(await collect(from(order))), expected);
    }
  });

  it('counts a revised turn once, from windowTurns output to session totals', async () => {
    // Costs (USD per million: sonnet 3/15, haiku 1/5, gpt-5 1.25/10):
    //   s1/t1 rev0 sonnet 1000 in, 100 out = 3_000 + 1_500 µ$ = $0.0045
    //   s1/t1 rev1 + haiku 2000 in, 200 out = 2_000 + 1_000 µ$ = $0.003
    //   s1/t1 rev2 + a failed tool call (no tokens)
    //   s1/t2      gpt-5 800 in, 80 out = 1_000 + 800 µ$ = $0.0018
    //   s2/t1      haiku 10_000 in, 1000 out = 10_000 + 5_000 µ$ = $0.015, abandoned at session.end
    const table = createPriceTable();
    const price = (u: LlmUsageEvent) => priceUsage(u, table);
    const haiku = { model: 'claude-haiku-4-5' };
    const log = inLogOrder([
      turnStart({ id: 'e1', at: 0 }),
      turnStart({ id: 'e2', at: 100, session: 's2' }),
      llmUsage({ id: 'e3', at: 500, session: 's2', ...haiku, inputTokens: 10_000, outputTokens: 1000 }),
      sessionEnd({ id: 'e4', at: 600, session: 's2' }),
      llmUsage({ id: 'e5', at: 1000, inputTokens: 1000, outputTokens: 100 }),
      turnEnd({ id: 'e6', at: 2000 }),
      llmUsage({ id: 'e7', at: 1500, ...haiku, inputTokens: 2000, outputTokens: 200 }),
      turnStart({ id: 'e8', at: 3000, turn: 't2' }),
      llmUsage({ id: 'e9', at: 3500, turn: 't2', provider: 'openai', model: 'gpt-5', inputTokens: 800, outputTokens: 80 }),
      toolEnd({ id: 'e10', at: 1800, toolCallId: 'c1', toolName: 'bash', durationMs: 100, error: true }),
      toolStart({ id: 'e11', at: 3600, turn: 't2', toolCallId: 'c1', toolName: 'grep' }),
      toolEnd({ id: 'e12', at: 3700, turn: 't2', toolCallId: 'c1', toolName: 'grep' }),
      turnEnd({ id: 'e13', at: 4000, turn: 't2' }),
    ]);
    const ds = roundCosts(
      await collect(
        from(log).pipe(
          windowTurns({ price }),
          filter((o) => o.kind === 'turn'),
          map((o) => o.aggregate),
        ),
      ),
    );
    assert.deepStrictEqual(ds, [
      { ...zero, session: 's2', turns: 1, llmCalls: 1, inputTokens: 10_000, outputTokens: 1000, cost: 0.015, firstMs: T0 + 100, lastMs: T0 + 500 },
      { ...zero, session: 's1', turns: 1, llmCalls: 1, inputTokens: 1000, outputTokens: 100, cost: 0.0045, firstMs: T0, lastMs: T0 + 2000 },
      { ...zero, session: 's1', llmCalls: 1, inputTokens: 2000, outputTokens: 200, cost: 0.003, firstMs: T0, lastMs: T0 + 2000 },
      { ...zero, session: 's1', toolCalls: 1, errors: 1, firstMs: T0, lastMs: T0 + 2000 },
      { ...zero, session: 's1', turns: 1, llmCalls: 1, toolCalls: 1, inputTokens: 800, outputTokens: 80, cost: 0.0018, firstMs: T0 + 3000, lastMs: T0 + 4000 },
    ]);
    // s1: 2 turns, 3 LLM calls, 2 tool calls (1 failed), 3800 in, 380 out, $0.0045 + $0.003 + $0.0018 = $0.0093.
    assert.deepStrictEqual(roundCosts(Object.fromEntries(sumBySession(ds))), {
      s1: { ...zero, turns: 2, llmCalls: 3, toolCalls: 2, inputTokens: 3800, outputTokens: 380, cost: 0.0093, errors: 1, firstMs: T0, lastMs: T0 + 4000 },
      s2: { ...zero, turns: 1, llmCalls: 1, inputTokens: 10_000, outputTokens: 1000, cost: 0.015, firstMs: T0 + 100, lastMs: T0 + 500 },
    });
  });
});
