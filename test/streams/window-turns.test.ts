import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { from, lastValueFrom, map, take, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { createPriceTable } from '../../src/events/price-table.ts';
import { priceUsage } from '../../src/events/price-usage.ts';
import type { LlmUsageEvent, LoggedEvent } from '../../src/events/step-event.ts';
import type { TurnAggregate } from '../../src/model/turn-aggregate.ts';
import { windowTurns, type WindowOutput, type WindowTurnsOptions } from '../../src/streams/window-turns.ts';
import { T0, inLogOrder, llmUsage, roundCosts, sessionEnd, sessionStart, toolEnd, toolStart, turnEnd, turnStart } from './make-events.ts';

// Bundled prices, USD per million tokens (input / output / cacheRead / cacheWrite5m):
//   anthropic claude-sonnet-4-5  3 / 15 / 0.3 / 3.75;  claude-haiku-4-5  1 / 5 / 0.1 / 1.25
//   openai gpt-5                 1.25 / 10 / 0.125 / 1.25
const table = createPriceTable();
const price = (u: LlmUsageEvent) => priceUsage(u, table);

/** Every output of one fresh operator fed `events` in array order, costs rounded to 1e-10 USD. */
function run(events: readonly LoggedEvent[], options: Partial<WindowTurnsOptions> = {}): Promise<WindowOutput[]> {
  return lastValueFrom(from(events).pipe(windowTurns({ price, ...options }), map(roundCosts), toArray()));
}
const aggregates = (out: readonly WindowOutput[]): TurnAggregate[] => out.flatMap((o) => (o.kind === 'turn' ? [o.aggregate] : []));

type Required = 'session' | 'turn' | 'startMs' | 'endMs' | 'firstEventId' | 'lastEventId' | 'eventCount' | 'closedAtPos';
/** An expected aggregate: a completed first close with nothing in it, plus `p`. */
function turnOf(p: Partial<TurnAggregate> & Pick<TurnAggregate, Required>): TurnAggregate {
  return {
    revision: 0,
    status: 'completed',
    durationMs: p.endMs - p.startMs,
    toolCalls: 0,
    toolNames: [],
    llmCalls: 0,
    inputTokens: 0,
    outputTokens: 0,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    reasoningTokens: 0,
    cost: 0,
    errors: 0,
    models: [],
    llm: [],
    tools: [],
    ...p,
  };
}

const scheduler = () => new TestScheduler((actual, expected) => assert.deepStrictEqual(actual, expected));

describe('windowTurns (marbles)', () => {
  it('emits each turn when its turn.end arrives, turns of one session interleaved', () => {
    const v = {
      a: turnStart({ id: 'a', at: 0, turn: 't1', pos: 1 }),
      b: turnStart({ id: 'b', at: 100, turn: 't2', pos: 2 }),
      c: turnEnd({ id: 'c', at: 200, turn: 't1', pos: 3, stopReason: 'end_turn' }),
      d: turnEnd({ id: 'd', at: 300, turn: 't2', pos: 4 }),
    };
    const x = {
      kind: 'turn',
      aggregate: turnOf({
        session: 's1',
        turn: 't1',
        startMs: T0,
        endMs: T0 + 200,
        stopReason: 'end_turn',
        firstEventId: 'a',
        lastEventId: 'c',
        eventCount: 2,
        closedAtPos: 3,
      }),
    };
    const y = {
      kind: 'turn',
      aggregate: turnOf({ session: 's1', turn: 't2', startMs: T0 + 100, endMs: T0 + 300, firstEventId: 'b', lastEventId: 'd', eventCount: 2, closedAtPos: 4 }),
    };
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold('-a-b-c-d-|', v);
      expectObservable(src.pipe(windowTurns({ price }))).toBe('-----x-y-|', { x, y });
      expectSubscriptions(src.subscriptions).toBe('^--------!');
    });
  });

  it('orders an out-of-order turn by event time', () => {
    const v = {
      a: toolStart({ id: 'a', at: 3000, pos: 1, toolCallId: 'c2', toolName: 'grep' }),
      b: toolStart({ id: 'b', at: 2000, pos: 2, toolCallId: 'c1', toolName: 'read_file' }),
      c: turnStart({ id: 'c', at: 1000, pos: 3 }),
      d: turnEnd({ id: 'd', at: 4000, pos: 4 }),
    };
    // Arrival a, b, c, d; event time c(1000) < b(2000) < a(3000) < d(4000).
    const x = {
      kind: 'turn',
      aggregate: turnOf({
        session: 's1',
        turn: 't1',
        startMs: T0 + 1000,
        endMs: T0 + 4000,
        toolCalls: 2,
        toolNames: ['read_file', 'grep'],
        tools: [
          { toolCallId: 'c1', toolName: 'read_file', startMs: T0 + 2000 },
          { toolCallId: 'c2', toolName: 'grep', startMs: T0 + 3000 },
        ],
        firstEventId: 'c',
        lastEventId: 'd',
        eventCount: 4,
        closedAtPos: 4,
      }),
    };
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('-a-b-c-d-|', v).pipe(windowTurns({ price }))).toBe('-------x-|', { x });
    });
  });

  it('closes an idle turn when another session moves the watermark past it', () => {
    const v = {
      a: turnStart({ id: 'a', at: 0, pos: 1 }),
      b: sessionStart({ id: 'b', at: 10_000, session: 's2', pos: 2 }), // watermark = last + idle: not yet
      c: turnStart({ id: 'c', at: 10_001, session: 's2', turn: 't9', pos: 3 }), // past it by 1 ms
    };
    const x = {
      kind: 'turn',
      aggregate: turnOf({
        session: 's1',
        turn: 't1',
        status: 'abandoned',
        startMs: T0,
        endMs: T0,
        firstEventId: 'a',
        lastEventId: 'a',
        eventCount: 1,
        closedAtPos: 3,
      }),
    };
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('-a-b-c-|', v).pipe(windowTurns({ price, turnIdleTimeoutMs: 10_000, sweepIntervalMs: 1 }))).toBe('-----x-|', { x });
    });
  });

  const v = {
    a: turnStart({ id: 'a', at: 0, turn: 't1', pos: 1 }),
    b: turnEnd({ id: 'b', at: 100, turn: 't1', pos: 2 }),
    c: turnStart({ id: 'c', at: 200, turn: 't2', pos: 3 }),
    d: llmUsage({ id: 'd', at: 300, turn: 't2', pos: 4, inputTokens: 1, outputTokens: 1 }),
    e: turnEnd({ id: 'e', at: 400, turn: 't2', pos: 5 }),
  };
  const x = {
    kind: 'turn',
    aggregate: turnOf({ session: 's1', turn: 't1', startMs: T0, endMs: T0 + 100, firstEventId: 'a', lastEventId: 'b', eventCount: 2, closedAtPos: 2 }),
  };

  it('completes with its source without flushing open turns', () => {
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('-a-b-c|', v).pipe(windowTurns({ price }))).toBe('---x--|', { x });
    });
  });

  it('unsubscribes from its source when the consumer completes early', () => {
    scheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const src = hot('-a-b-c-d-e-|', v);
      expectObservable(src.pipe(windowTurns({ price }), take(1))).toBe('---(x|)', { x });
      expectSubscriptions(src.subscriptions).toBe('^--!');
    });
  });

  it('passes a source error through, without flushing open turns', () => {
    const boom = new Error('boom');
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold('-a-b-c-#', v, boom);
      expectObservable(src.pipe(windowTurns({ price }))).toBe('---x---#', { x }, boom);
      expectSubscriptions(src.subscriptions).toBe('^------!');
    });
  });

  it('errors, and lets go of its source, when pricing throws', () => {
    const unpriceable = new Error('no price');
    const throwing = (): never => {
      throw unpriceable;
    };
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold('-c-d-e-|', v);
      expectObservable(src.pipe(windowTurns({ price: throwing }))).toBe('---#', undefined, unpriceable);
      expectSubscriptions(src.subscriptions).toBe('^--!');
    });
  });

  it('stops on unsubscribe: nothing more is processed or emitted', () => {
    let priced = 0;
    const counting = (u: LlmUsageEvent) => {
      priced++;
      return price(u);
    };
    scheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const src = hot('-a-b-c-d-e-|', v);
      expectObservable(src.pipe(windowTurns({ price: counting })), '^-----!').toBe('---x--', { x });
      expectSubscriptions(src.subscriptions).toBe('^-----!');
    });
    assert.equal(priced, 0, 'the llm.usage after unsubscribe was never folded in');
  });

  it('does no more work once unsubscribed from a synchronous source', async () => {
    let priced = 0;
    const counting = (u: LlmUsageEvent) => {
      priced++;
      return price(u);
    };
    const calls = Array.from({ length: 100 }, (_, i) => llmUsage({ id: `l${i}`, at: 500 + i, turn: 't2', inputTokens: 1, outputTokens: 1 }));
    const out = await lastValueFrom(from([v.a, v.b, ...calls]).pipe(windowTurns({ price: counting }), take(1), toArray()));
    assert.deepStrictEqual(out, [x]);
    assert.equal(priced, 0, 'events pushed after take(1) unsubscribed are not priced');
  });
});

// One turn, hand-priced (claude-sonnet-4-5 and gpt-5):
//   e3 sonnet  1000 in, 500 out, 10_000 cache read, 2_000 cache write (5m)
//      = 1000×3 + 500×15 + 10_000×0.3 + 2_000×3.75 = 3_000 + 7_500 + 3_000 + 7_500 = 21_000 µ$ = $0.021
//   e8 gpt-5   2000 in, 1000 out (400 of them reasoning: not priced again)
//      = 2000×1.25 + 1000×10 = 2_500 + 10_000 = 12_500 µ$ = $0.0125
//   e9 sonnet  200 in, 300 out, 12_000 cache read = 600 + 4_500 + 3_600 = 8_700 µ$ = $0.0087
//   turn: $0.0422; sonnet $0.0297 (2 calls), gpt-5 $0.0125.
const oneTurn = inLogOrder([
  sessionStart({ id: 'e1', at: 0, agent: 'coder', user: 'u1' }),
  turnStart({ id: 'e2', at: 1000 }),
  llmUsage({
    id: 'e3',
    at: 3000,
    durationMs: 1500,
    inputTokens: 1000,
    outputTokens: 500,
    cacheReadTokens: 10_000,
    cacheWriteTokens: 2_000,
    finishReason: 'tool_use',
  }),
  toolStart({ id: 'e4', at: 3100, toolCallId: 'c1', toolName: 'read_file' }),
  toolStart({ id: 'e5', at: 3200, toolCallId: 'c2', toolName: 'grep' }),
  toolEnd({ id: 'e6', at: 3400, toolCallId: 'c2', toolName: 'grep', durationMs: 200 }),
  toolEnd({ id: 'e7', at: 3900, toolCallId: 'c1', toolName: 'read_file', durationMs: 800, error: 'ENOENT' }),
  llmUsage({
    id: 'e8',
    at: 6000,
    durationMs: 2000,
    provider: 'openai',
    model: 'gpt-5',
    inputTokens: 2000,
    outputTokens: 1000,
    reasoningTokens: 400,
    finishReason: 'tool_use',
  }),
  llmUsage({ id: 'e9', at: 9000, durationMs: 1000, inputTokens: 200, outputTokens: 300, cacheReadTokens: 12_000, finishReason: 'end_turn' }),
  turnEnd({ id: 'e10', at: 9500, stopReason: 'end_turn' }),
]);
const sonnet = { provider: 'anthropic', model: 'claude-sonnet-4-5' };
const oneTurnAggregate: TurnAggregate = turnOf({
  session: 's1',
  turn: 't1',
  agent: 'coder',
  user: 'u1',
  stopReason: 'end_turn',
  startMs: T0 + 1000,
  endMs: T0 + 9500,
  durationMs: 8500, // turn.start → turn.end
  toolCalls: 2,
  toolNames: ['read_file', 'grep'],
  errors: 1,
  llmCalls: 3,
  inputTokens: 3200,
  outputTokens: 1800,
  cacheReadTokens: 22_000,
  cacheWriteTokens: 2000,
  reasoningTokens: 400,
  cost: 0.0422,
  models: [
    { ...sonnet, calls: 2, inputTokens: 1200, outputTokens: 800, cacheReadTokens: 22_000, cacheWriteTokens: 2000, reasoningTokens: 0, cost: 0.0297 },
    {
      provider: 'openai',
      model: 'gpt-5',
      calls: 1,
      inputTokens: 2000,
      outputTokens: 1000,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
      reasoningTokens: 400,
      cost: 0.0125,
    },
  ],
  llm: [
    {
      eventId: 'e3',
      ...sonnet,
      startMs: T0 + 1500,
      endMs: T0 + 3000,
      inputTokens: 1000,
      outputTokens: 500,
      cacheReadTokens: 10_000,
      cacheWriteTokens: 2000,
      reasoningTokens: 0,
      cost: 0.021,
      costSource: 'computed',
      finishReason: 'tool_use',
    },
    {
      eventId: 'e8',
      provider: 'openai',
      model: 'gpt-5',
      startMs: T0 + 4000,
      endMs: T0 + 6000,
      inputTokens: 2000,
      outputTokens: 1000,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
      reasoningTokens: 400,
      cost: 0.0125,
      costSource: 'computed',
      finishReason: 'tool_use',
    },
    {
      eventId: 'e9',
      ...sonnet,
      startMs: T0 + 8000,
      endMs: T0 + 9000,
      inputTokens: 200,
      outputTokens: 300,
      cacheReadTokens: 12_000,
      cacheWriteTokens: 0,
      reasoningTokens: 0,
      cost: 0.0087,
      costSource: 'computed',
      finishReason: 'end_turn',
    },
  ],
  tools: [
    { toolCallId: 'c1', toolName: 'read_file', startMs: T0 + 3100, endMs: T0 + 3900, error: 'ENOENT' },
    { toolCallId: 'c2', toolName: 'grep', startMs: T0 + 3200, endMs: T0 + 3400 },
  ],
  firstEventId: 'e2',
  lastEventId: 'e10',
  eventCount: 9,
  closedAtPos: 10, // session.start is not turn-scoped
});

describe('windowTurns aggregates', () => {
  it('aggregates one turn: counts, tool order, tokens by type, cost, per-model breakdown', async () => {
    assert.deepStrictEqual(await run(oneTurn), [{ kind: 'turn', aggregate: oneTurnAggregate }]);
  });

  it("gives the same aggregate whatever order a turn's events arrive in", async () => {
    // session.start first, then e9 … e2 reversed (tool.end before its tool.start), turn.end last.
    const reversed = inLogOrder([oneTurn[0]!, ...oneTurn.slice(1, 9).reverse(), oneTurn[9]!]);
    assert.deepStrictEqual(await run(reversed), [{ kind: 'turn', aggregate: oneTurnAggregate }]);
  });

  it('orders tools with equal event time by seq (absent first), then id', async () => {
    const starts = [
      toolStart({ id: 'k3', at: 100, seq: 2, toolCallId: 'c3', toolName: 'c' }),
      toolStart({ id: 'k1', at: 100, seq: 2, toolCallId: 'c1', toolName: 'b' }),
      toolStart({ id: 'k9', at: 100, seq: 1, toolCallId: 'c9', toolName: 'a' }),
      toolStart({ id: 'k0', at: 100, toolCallId: 'c0', toolName: 'z' }),
    ];
    const permutations = (xs: LoggedEvent[]): LoggedEvent[][] =>
      xs.length <= 1 ? [xs] : xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
    const seen = new Set<string>();
    for (const order of permutations(starts)) {
      const [a] = aggregates(await run(inLogOrder([turnStart({ id: 'k-start', at: 0 }), ...order, turnEnd({ id: 'k-end', at: 200 })])));
      assert.deepStrictEqual(a?.toolNames, ['z', 'a', 'b', 'c']);
      seen.add(JSON.stringify(a));
    }
    assert.equal(seen.size, 1, 'all 24 arrival orders give one aggregate');
  });

  it('keeps concurrent turns of one session, and sessions, apart', async () => {
    // s1/t1 and s1/t2 overlap; s2 reuses the turn id t1. Costs:
    //   s1/t1 sonnet 100 in, 10 out  = 300 + 150 µ$ = $0.00045
    //   s1/t2 haiku 1000 in, 100 out = 1000 + 500 µ$ = $0.0015
    //   s2/t1 gpt-5 400 in, 40 out   = 500 + 400 µ$ = $0.0009
    const out = await run(
      inLogOrder([
        turnStart({ id: 'a1', at: 0, turn: 't1' }),
        turnStart({ id: 'b1', at: 10, session: 's2', turn: 't1', attrs: { 'agent.name': 'reviewer' } }),
        turnStart({ id: 'c1', at: 50, turn: 't2' }),
        llmUsage({ id: 'a2', at: 100, turn: 't1', inputTokens: 100, outputTokens: 10 }),
        llmUsage({ id: 'c2', at: 120, turn: 't2', model: 'claude-haiku-4-5', inputTokens: 1000, outputTokens: 100 }),
        toolStart({ id: 'a3', at: 150, turn: 't1', toolCallId: 'x', toolName: 'bash' }),
        llmUsage({ id: 'b2', at: 200, session: 's2', turn: 't1', provider: 'openai', model: 'gpt-5', inputTokens: 400, outputTokens: 40 }),
        toolEnd({ id: 'a4', at: 250, turn: 't1', toolCallId: 'x', toolName: 'bash' }),
        turnEnd({ id: 'c3', at: 300, turn: 't2' }),
        turnEnd({ id: 'a5', at: 400, turn: 't1' }),
        turnEnd({ id: 'b3', at: 500, session: 's2', turn: 't1' }),
      ]),
    );
    const view = aggregates(out).map((a) => ({
      key: `${a.session}/${a.turn}`,
      agent: a.agent,
      toolNames: a.toolNames,
      llm: a.llmCalls,
      in: a.inputTokens,
      out: a.outputTokens,
      cost: a.cost,
      models: a.models.map((m) => m.model),
      ids: [a.firstEventId, a.lastEventId, a.eventCount, a.closedAtPos],
    }));
    assert.deepStrictEqual(view, [
      { key: 's1/t2', agent: undefined, toolNames: [], llm: 1, in: 1000, out: 100, cost: 0.0015, models: ['claude-haiku-4-5'], ids: ['c1', 'c3', 3, 9] },
      { key: 's1/t1', agent: undefined, toolNames: ['bash'], llm: 1, in: 100, out: 10, cost: 0.00045, models: ['claude-sonnet-4-5'], ids: ['a1', 'a5', 5, 10] },
      { key: 's2/t1', agent: 'reviewer', toolNames: [], llm: 1, in: 400, out: 40, cost: 0.0009, models: ['gpt-5'], ids: ['b1', 'b3', 3, 11] },
    ]);
  });

  it('closes a silent turn as abandoned only once the watermark passes its last event by the idle timeout', async () => {
    const options = { turnIdleTimeoutMs: 10_000, graceMs: 5_000, sweepIntervalMs: 1 };
    const events = inLogOrder([
      turnStart({ id: 'i1', at: 0 }),
      toolStart({ id: 'i2', at: 1000, toolCallId: 'c1', toolName: 'bash' }), // last event: 1000
      sessionStart({ id: 'i3', at: 11_000, session: 's2' }), // watermark 11_000 = 1000 + 10_000: not past
      sessionStart({ id: 'i4', at: 10_500, session: 's2' }), // older: the watermark stays
      turnStart({ id: 'i5', at: 11_001, session: 's2', turn: 't9' }), // past by 1 ms
    ]);
    assert.deepStrictEqual(await run(events.slice(0, 4), options), []);
    assert.deepStrictEqual(aggregates(await run(events, options)), [
      turnOf({
        session: 's1',
        turn: 't1',
        status: 'abandoned',
        startMs: T0,
        endMs: T0 + 1000,
        toolCalls: 1,
        toolNames: ['bash'],
        tools: [{ toolCallId: 'c1', toolName: 'bash', startMs: T0 + 1000 }],
        firstEventId: 'i1',
        lastEventId: 'i2',
        eventCount: 2,
        closedAtPos: 5,
      }),
    ]);
  });

  it('closes the open turns of a session at session.end, as abandoned', async () => {
    const out = await run(
      inLogOrder([
        turnStart({ id: 'x1', at: 0, turn: 't1' }),
        turnStart({ id: 'x2', at: 10, turn: 't2' }),
        turnStart({ id: 'x3', at: 20, session: 's2', turn: 't1' }),
        sessionEnd({ id: 'x4', at: 40, reason: 'user_quit' }),
      ]),
    );
    assert.deepStrictEqual(aggregates(out), [
      turnOf({ session: 's1', turn: 't1', status: 'abandoned', startMs: T0, endMs: T0, firstEventId: 'x1', lastEventId: 'x1', eventCount: 1, closedAtPos: 4 }),
      turnOf({
        session: 's1',
        turn: 't2',
        status: 'abandoned',
        startMs: T0 + 10,
        endMs: T0 + 10,
        firstEventId: 'x2',
        lastEventId: 'x2',
        eventCount: 1,
        closedAtPos: 4,
      }),
    ]);
  });
});

describe('windowTurns late events', () => {
  // Claude-sonnet-4-5 1000 in, 100 out = 3_000 + 1_500 µ$ = $0.0045; haiku 2000 in, 200 out = 2_000 + 1_000 µ$ = $0.003.
  const haiku = { provider: 'anthropic', model: 'claude-haiku-4-5' };
  const rev0 = turnOf({
    session: 's1',
    turn: 't1',
    stopReason: 'end_turn',
    startMs: T0,
    endMs: T0 + 2000,
    llmCalls: 1,
    inputTokens: 1000,
    outputTokens: 100,
    cost: 0.0045,
    models: [{ ...sonnet, calls: 1, inputTokens: 1000, outputTokens: 100, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0, cost: 0.0045 }],
    llm: [
      {
        eventId: 'r2',
        ...sonnet,
        startMs: T0 + 1000,
        endMs: T0 + 1000,
        inputTokens: 1000,
        outputTokens: 100,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
        reasoningTokens: 0,
        cost: 0.0045,
        costSource: 'computed',
      },
    ],
    firstEventId: 'r1',
    lastEventId: 'r3',
    eventCount: 3,
    closedAtPos: 3,
  });
  const rev1Plain: TurnAggregate = {
    ...rev0,
    revision: 1,
    llmCalls: 2,
    inputTokens: 3000,
    outputTokens: 300,
    cost: 0.0075,
    eventCount: 4,
    closedAtPos: 4,
    models: [
      ...rev0.models,
      { ...haiku, calls: 1, inputTokens: 2000, outputTokens: 200, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0, cost: 0.003 },
    ],
    llm: [
      ...rev0.llm,
      {
        eventId: 'r4',
        ...haiku,
        startMs: T0 + 1500,
        endMs: T0 + 1500,
        inputTokens: 2000,
        outputTokens: 200,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
        reasoningTokens: 0,
        cost: 0.003,
        costSource: 'computed',
      },
    ],
  };

  it('revises a closed turn for each late event within grace, superseding the previous revision', async () => {
    const out = await run(
      inLogOrder([
        turnStart({ id: 'r1', at: 0 }),
        llmUsage({ id: 'r2', at: 1000, inputTokens: 1000, outputTokens: 100 }),
        turnEnd({ id: 'r3', at: 2000, stopReason: 'end_turn' }), // → revision 0
        llmUsage({ id: 'r4', at: 1500, ...haiku, inputTokens: 2000, outputTokens: 200 }), // late → revision 1
        toolStart({ id: 'r5', at: 1800, toolCallId: 'c1', toolName: 'bash' }), // late → revision 2
      ]),
      { graceMs: 60_000 },
    );
    assert.deepStrictEqual(aggregates(out), [
      rev0,
      { ...rev1Plain, supersedes: rev0 },
      {
        ...rev1Plain,
        revision: 2,
        toolCalls: 1,
        toolNames: ['bash'],
        tools: [{ toolCallId: 'c1', toolName: 'bash', startMs: T0 + 1800 }],
        eventCount: 5,
        closedAtPos: 5,
        supersedes: rev1Plain,
      },
    ]);
  });

  it('upgrades an abandoned turn to completed when its turn.end arrives late', async () => {
    const out = await run(
      inLogOrder([
        turnStart({ id: 'u1', at: 0 }),
        toolStart({ id: 'u2', at: 100, toolCallId: 'c1', toolName: 'bash' }),
        sessionEnd({ id: 'u3', at: 200 }), // → abandoned
        turnEnd({ id: 'u4', at: 150, stopReason: 'max_tokens' }), // late
      ]),
    );
    const abandoned = turnOf({
      session: 's1',
      turn: 't1',
      status: 'abandoned',
      startMs: T0,
      endMs: T0 + 100,
      toolCalls: 1,
      toolNames: ['bash'],
      tools: [{ toolCallId: 'c1', toolName: 'bash', startMs: T0 + 100 }],
      firstEventId: 'u1',
      lastEventId: 'u2',
      eventCount: 2,
      closedAtPos: 3,
    });
    assert.deepStrictEqual(aggregates(out), [
      abandoned,
      {
        ...abandoned,
        revision: 1,
        status: 'completed',
        stopReason: 'max_tokens',
        endMs: T0 + 150,
        durationMs: 150,
        lastEventId: 'u4',
        eventCount: 3,
        closedAtPos: 4,
        supersedes: abandoned,
      },
    ]);
  });

  it("keeps the session's agent and user on a revision after the session went quiet", async () => {
    // Watermark jumps 100 s: t1 idles out (10 s) and s1 has no open turn, but t1 is still held (grace 5 s from close).
    const out = await run(
      inLogOrder([
        sessionStart({ id: 'q1', at: 0, agent: 'coder', user: 'u1' }),
        turnStart({ id: 'q2', at: 0 }),
        sessionStart({ id: 'q3', at: 100_000, session: 's2' }),
        toolStart({ id: 'q4', at: 50, toolCallId: 'c1', toolName: 'bash' }),
      ]),
      { turnIdleTimeoutMs: 10_000, graceMs: 5_000, sweepIntervalMs: 1 },
    );
    assert.deepStrictEqual(
      aggregates(out).map((a) => [a.revision, a.status, a.agent, a.user]),
      [
        [0, 'abandoned', 'coder', 'u1'],
        [1, 'abandoned', 'coder', 'u1'],
      ],
    );
  });

  it('emits an event of a turn closed and released before it as late, not dropping it; a turn never seen opens however old', async () => {
    const options = { graceMs: 5_000, sweepIntervalMs: 1 };
    const events = inLogOrder([
      turnStart({ id: 'l1', at: 0 }),
      turnEnd({ id: 'l2', at: 1000 }), // closes t1 at session clock 1000
      sessionStart({ id: 'l3', at: 6_001, session: 's2' }), // 1000 + 5000 < 6001: t1 released
      toolStart({ id: 'l4', at: 500, toolCallId: 'c1', toolName: 'bash' }), // t1 closed and released before it: late
      toolStart({ id: 'l5', at: 900, turn: 'never-seen', toolCallId: 'c2', toolName: 'bash' }), // 5101 ms behind the watermark: opens
      turnEnd({ id: 'l6', at: 950, turn: 'never-seen' }),
    ]);
    const out = await run(events, options);
    assert.deepStrictEqual(
      out.map((o) => (o.kind === 'turn' ? `turn ${o.aggregate.turn} r${o.aggregate.revision} ${o.aggregate.status}` : `late ${o.logged.event.id}`)),
      ['turn t1 r0 completed', 'late l4', 'turn never-seen r0 completed'],
    );
    assert.deepStrictEqual(out[1], {
      kind: 'late',
      logged: events[3],
      message: 'turn "t1" of session "s1" closed before this event and its grace period (5000 ms) has passed',
    });
  });

  it('releases closed turns once the watermark is past their grace period', async () => {
    const options = { graceMs: 1_000 }; // default sweeps: when the watermark enters another 5 s bucket
    const closed = Array.from({ length: 1000 }, (_, i) => [
      turnStart({ id: `m${i}s`, at: i * 10, turn: `t${i}` }),
      turnEnd({ id: `m${i}e`, at: i * 10 + 5, turn: `t${i}` }),
    ]).flat();
    const probe = (i: number, id: string) => toolEnd({ id, at: i * 10 + 1, turn: `t${i}`, toolCallId: 'c', toolName: 'probe' });
    // While held (t999 closed at watermark 9995), a late event revises; once released, the same kind of event is late.
    const out = await run(
      inLogOrder([
        ...closed,
        probe(999, 'held'),
        sessionStart({ id: 'tick', at: 20_000, session: 's2' }),
        ...Array.from({ length: 1000 }, (_, i) => probe(i, `p${i}`)),
      ]),
      options,
    );
    const kinds = out.map((o) => (o.kind === 'turn' ? `turn/${o.aggregate.revision}` : 'late'));
    assert.deepStrictEqual(kinds, [...Array<string>(1000).fill('turn/0'), 'turn/1', ...Array<string>(1000).fill('late')]);
  });

  it('is deterministic: the same log through fresh operators gives the same output', async () => {
    let x = 42; // a fixed LCG: the scenario is the same on every run
    const rand = (): number => {
      x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
      return x / 2 ** 31;
    };
    const events: { at: number; logged: LoggedEvent }[] = [];
    for (let s = 0; s < 5; s++) {
      for (let t = 0; t < 20; t++) {
        const base = { session: `s${s}`, turn: `t${t}` };
        const at = t * 30_000 + s * 1_000;
        const id = `s${s}t${t}`;
        const push = (logged: LoggedEvent) => events.push({ at: logged.event.timeMs - T0 + rand() * 40_000, logged });
        push(turnStart({ ...base, id: `${id}a`, at }));
        push(llmUsage({ ...base, id: `${id}b`, at: at + 1_000 + Math.floor(rand() * 5_000), inputTokens: 100 * t, outputTokens: 10 * s }));
        push(toolStart({ ...base, id: `${id}c`, at: at + 2_000, toolCallId: 'k', toolName: `tool${s}` }));
        push(toolEnd({ ...base, id: `${id}d`, at: at + 7_000, toolCallId: 'k', toolName: `tool${s}` }));
        if (rand() > 0.2) push(turnEnd({ ...base, id: `${id}e`, at: at + 8_000 }));
      }
    }
    // Arrival order: event time plus up to 40 s of jitter, so some events are late, some very late.
    const log = inLogOrder(events.sort((a, b) => a.at - b.at).map((e) => e.logged));
    const options = { turnIdleTimeoutMs: 20_000, graceMs: 10_000 };
    const first = await run(log, options);
    assert.deepStrictEqual(await run(log, options), first);
    const statuses = new Set(first.map((o) => (o.kind === 'turn' ? `${o.aggregate.status}/${o.aggregate.revision > 0}` : o.kind)));
    for (const kind of ['completed/false', 'abandoned/false', 'completed/true', 'late']) assert.ok(statuses.has(kind), `scenario covers ${kind}`);
  });
});
