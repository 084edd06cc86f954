import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { filter, from, lastValueFrom, map, share, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { createPriceTable } from '../../src/events/price-table.ts';
import { priceUsage, type PricedCost } from '../../src/events/price-usage.ts';
import type { LlmUsageEvent, LoggedEvent } from '../../src/events/step-event.ts';
import { priceAndDedupe, type ScreenedEvent } from '../../src/streams/price-and-dedupe.ts';
import { windowTurns } from '../../src/streams/window-turns.ts';
import { inLogOrder, llmUsage, sessionEnd, toolEnd, toolStart, turnEnd, turnStart } from './make-events.ts';

const table = createPriceTable();
const price = (u: LlmUsageEvent): PricedCost => priceUsage(u, table);
const scheduler = () => new TestScheduler((actual, expected) => assert.deepStrictEqual(actual, expected));
const usage = (id: string, at: number, turn = 't1', pos = 0): LoggedEvent =>
  llmUsage({ id, at, turn, pos, provider: 'anthropic', model: 'claude-sonnet-4-5', inputTokens: 1000, outputTokens: 100 });

/** Windows fed through the screening step, as the Processor wires them. */
function screenedWindows(events: readonly LoggedEvent[], timing: { turnIdleTimeoutMs?: number; graceMs?: number; sweepIntervalMs?: number } = {}) {
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

describe('priceAndDedupe (marbles)', () => {
  it('prices each LLM call once and passes every other event as is', () => {
    const v = { a: turnStart({ id: 'a', at: 0, pos: 1 }), b: usage('b', 10, 't1', 2), c: turnEnd({ id: 'c', at: 20, pos: 3 }) };
    let calls = 0;
    const counted = (u: LlmUsageEvent): PricedCost => {
      calls++;
      return price(u);
    };
    scheduler().run(({ cold, expectObservable }) => {
      const out = cold('-a-b-c-|', v).pipe(
        priceAndDedupe({ price: counted }),
        map((s: ScreenedEvent) => (s.kind === 'event' ? (s.cost?.cost ?? null) : 'dup')),
      );
      expectObservable(out).toBe('-x-y-x-|', { x: null, y: price(v.b.event as LlmUsageEvent).cost });
    });
    assert.equal(calls, 1);
  });

  it('with dedupe, a repeated id of a held turn is emitted as duplicate (not priced again); without, it passes', () => {
    const v = { a: usage('u1', 0, 't1', 1), b: usage('u1', 0, 't1', 2), c: usage('u1', 5, 't2', 3) };
    const kind = map((s: ScreenedEvent) => (s.kind === 'duplicate' ? 'd' : 'e'));
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('-a-b-c-|', v).pipe(priceAndDedupe({ price, dedupe: true }), kind)).toBe('-e-d-e-|', { e: 'e', d: 'd' });
      expectObservable(cold('-a-b-c-|', v).pipe(priceAndDedupe({ price }), kind)).toBe('-e-e-e-|', { e: 'e' });
    });
  });

  it('passes errors through, and a throwing price becomes the error', () => {
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(
        cold('-a-#', { a: turnStart({ id: 'a', at: 0 }) }).pipe(
          priceAndDedupe({ price }),
          map((s) => s.kind),
        ),
      ).toBe('-e-#', { e: 'event' });
      const boom = (): PricedCost => {
        throw new Error('boom');
      };
      expectObservable(cold('-a-|', { a: usage('u', 0) }).pipe(priceAndDedupe({ price: boom }))).toBe('-#', undefined, new Error('boom'));
    });
  });

  it('stops on unsubscribe', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold('-a-b-c-|', { a: turnStart({ id: 'a', at: 0 }), b: turnStart({ id: 'b', at: 1 }), c: turnStart({ id: 'c', at: 2 }) });
      expectObservable(
        src.pipe(
          priceAndDedupe({ price }),
          map((s) => s.kind),
        ),
        '^--!',
      ).toBe('-e-', { e: 'event' });
      expectSubscriptions(src.subscriptions).toBe('^--!');
    });
  });
});

describe('priceAndDedupe before windowTurns', () => {
  it('gives the windows exactly what they give for the stream without its repeats, out of order included', async () => {
    const base = [
      turnStart({ id: 'a', at: 0 }),
      usage('b', 1_000),
      toolStart({ id: 'c', at: 1_500, toolCallId: 'k', toolName: 'Read' }),
      toolEnd({ id: 'd', at: 2_000, toolCallId: 'k', toolName: 'Read' }),
      turnEnd({ id: 'e', at: 3_000 }),
      turnStart({ id: 'f', at: 100, turn: 't2' }),
      usage('g', 4_000, 't2'),
      sessionEnd({ id: 'h', at: 5_000 }),
    ];
    const withRepeats = inLogOrder([
      base[0]!,
      base[1]!,
      base[1]!,
      base[2]!,
      base[5]!,
      base[3]!,
      base[2]!,
      base[4]!,
      base[1]!,
      base[6]!,
      base[6]!,
      base[7]!,
      base[4]!,
    ]);
    const seen = new Set<string>();
    const clean = withRepeats.filter((l) => {
      const key = `${'turn' in l.event ? l.event.turn : ''}/${l.event.id}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    const expected = await lastValueFrom(from(clean).pipe(windowTurns({ price }), toArray()));
    // Positions differ (the repeats hold log positions); compare what the turns hold.
    const strip = (out: readonly { kind: string }[]) => out.map((o) => ('aggregate' in o ? { ...(o.aggregate as object), closedAtPos: 0 } : o.kind));
    assert.deepEqual(strip(await screenedWindows(withRepeats)), strip(expected));
  });

  it("holds a turn's ids as long as the windows hold the turn: a repeat after release is late, never a revision", async () => {
    const timing = { turnIdleTimeoutMs: 1_000, graceMs: 1_000, sweepIntervalMs: 100 };
    const events = inLogOrder([
      turnStart({ id: 'a', at: 0 }),
      usage('b', 100),
      turnEnd({ id: 'c', at: 200 }),
      usage('b', 100), // a repeat within grace: dropped, no revision
      turnStart({ id: 'x', at: 50_000, turn: 't9' }), // moves the watermark far past the grace
      usage('b', 100), // a repeat after the turn was released: late, as the windows have always said
    ]);
    const out = await screenedWindows(events, timing);
    assert.deepEqual(
      out.map((o) => (o.kind === 'turn' ? `turn ${o.aggregate.turn} r${o.aggregate.revision}` : o.kind)),
      ['turn t1 r0', 'late'],
    );
  });
});
