import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPriceTable } from '../../src/events/price-table.ts';
import { replaySession, type SessionReplay } from '../../src/replay/replay-session.ts';
import type { ReplayStop } from '../../src/replay/replay-log.ts';
import { exampleEvents, memoryLog } from './memory-log.ts';

const prices = createPriceTable();
const close = (actual: number | undefined, expected: number): void =>
  assert.ok(actual !== undefined && Math.abs(actual - expected) < 1e-12, `${actual} ≠ ${expected}`);
const at = (iso: string): ReplayStop => ({ kind: 'time', ms: Date.parse(iso) });
const PLAN = { step: 1, goal: 'fix login' };

// demo-1 (examples/coding-session.ndjson), in log order, then demo-2 and demo-3:
//   10:00:00     session.start, turn.start turn-1
//   10:00:01     state.set plan            10:00:03     state.set branch = "fix-login"
//   10:00:02 …   3 LLM calls, 3 tools      10:00:09.050 turn.end turn-1   → $0.0342 (hand-computed
//                                                         in test/e2e/examples.test.ts)
//   10:01:00     turn.start turn-2         10:01:03     llm.usage gpt-4o-mini, provider cost $0.0021
//   10:01:03.100 turn.end turn-2           10:01:04     state.delete plan (demo1-018)
//   10:02:00     session.end
const log = memoryLog(exampleEvents('coding-session', 'concurrent-turns', 'messy-delivery'));
const replay = (stop?: ReplayStop): Promise<SessionReplay> => replaySession({ log, session: 'demo-1', prices, ...(stop === undefined ? {} : { stop }) });

describe('replaySession --at: the session as it stood at a point', () => {
  it('before the first state write: no state, no turn closed, turn-1 open with its first event', async () => {
    const r = await replay(at('2026-03-02T10:00:00.500Z'));
    assert.deepEqual(r.state, {});
    assert.equal(r.totals, undefined);
    assert.deepEqual(r.turns, []);
    assert.deepEqual(
      r.open.map((t) => [t.turn, t.events]),
      [['turn-1', 1]],
    );
    assert.equal(r.ended, 'stop');
    assert.equal(r.events, 2);
  });

  it('at 10:00:03 (an event at exactly that time is included): both keys, turn-1 open with 5 events', async () => {
    const r = await replay(at('2026-03-02T10:00:03Z'));
    assert.deepEqual(r.state, { branch: 'fix-login', plan: PLAN });
    assert.deepEqual(
      r.open.map((t) => [t.turn, t.events, new Date(t.firstMs).toISOString()]),
      [['turn-1', 5, '2026-03-02T10:00:00.000Z']],
    );
    assert.equal(r.totals, undefined);
  });

  it('after turn-1 closed: one turn, its cost and counts in the totals', async () => {
    const r = await replay(at('2026-03-02T10:00:30Z'));
    assert.deepEqual(
      r.turns.map((t) => [t.turn, t.status, t.toolNames]),
      [['turn-1', 'completed', ['Read', 'Bash', 'Edit']]],
    );
    assert.deepEqual([r.totals?.turns, r.totals?.llmCalls, r.totals?.toolCalls, r.totals?.errors], [1, 3, 3, 1]);
    close(r.totals?.cost, 0.0342);
    assert.deepEqual(r.open, []);
    assert.deepEqual(r.deleted, {});
  });

  it('after turn-2, before the delete: both turns ($0.0363), plan still set', async () => {
    const r = await replay(at('2026-03-02T10:01:03.500Z'));
    assert.equal(r.totals?.turns, 2);
    close(r.totals?.cost, 0.0363);
    assert.deepEqual(r.state, { branch: 'fix-login', plan: PLAN });
  });

  it('right after the delete event (by id): plan is a tombstone, branch stays', async () => {
    const r = await replay({ kind: 'event', id: 'demo1-018' });
    assert.equal(r.stopFound, true);
    assert.deepEqual(r.state, { branch: 'fix-login' });
    assert.deepEqual(r.deleted, { plan: Date.parse('2026-03-02T10:01:04Z') });
    assert.equal(r.position, 18);
  });

  it('an event id of another session stops at that log position', async () => {
    const r = await replay({ kind: 'event', id: 'demo2-001' });
    assert.equal(r.position, 20);
    assert.equal(r.events, 19);
    assert.equal(r.totals?.turns, 2);
  });

  it('before the session began: nothing of it', async () => {
    const r = await replay(at('2026-03-02T09:00:00Z'));
    assert.equal(r.events, 0);
    assert.equal(r.fed, 0);
  });

  it('a time stops where the event-time clock passes it: an earlier event logged after that is not seen yet', async () => {
    const ev = (id: string, time: string, extra: Record<string, unknown>) => JSON.stringify({ v: 1, id, session: 's', time, ...extra });
    const lines = [
      ev('a', '2026-03-02T10:00:10Z', { type: 'state.set', key: 'k', value: 'a' }),
      ev('b', '2026-03-02T10:00:20Z', { type: 'state.set', key: 'other', value: 'b' }),
      ev('c', '2026-03-02T10:00:15Z', { type: 'state.set', key: 'k', value: 'c' }), // arrives late, time 15 s
      ev('d', '2026-03-02T10:00:16Z', { type: 'state.delete', key: 'other' }),
    ];
    const r = (ms: string) => replaySession({ log: memoryLog(lines), session: 's', prices, stop: at(ms) });
    assert.deepEqual((await r('2026-03-02T10:00:17Z')).state, { k: 'a' }, 'the clock reached 17 s before c arrived');
    // At 25 s all four are in: c wins k by time; d (16 s) is older than b (20 s), so other survives.
    assert.deepEqual((await r('2026-03-02T10:00:25Z')).state, { k: 'c', other: 'b' });
  });

  it('without --at: the end of the session, with nothing open', async () => {
    const r = await replay();
    assert.deepEqual(r.state, { branch: 'fix-login' });
    assert.equal(r.totals?.turns, 2);
    assert.deepEqual(r.open, []);
    assert.equal(r.ended, 'end');
  });
});

describe('replaySession: how far it reads', () => {
  it("with the session's last position known, stops once it is settled; the result is the same as reading to the end", async () => {
    const whole = memoryLog(exampleEvents('coding-session', 'concurrent-turns', 'messy-delivery'));
    const full = await replaySession({ log: whole, session: 'demo-1', prices });
    const early = memoryLog(exampleEvents('coding-session', 'concurrent-turns', 'messy-delivery'));
    const settled = await replaySession({ log: early, session: 'demo-1', prices, lastPos: 19, batchSize: 5 });
    assert.deepEqual(settled.turns, full.turns);
    assert.deepEqual(settled.state, full.state);
    assert.equal(settled.ended, 'settled');
    assert.deepEqual([early.reads, whole.reads], [20, 42], 'stopped at the end of the batch holding its last event');
  });

  it("keeps reading past the session's last event while a turn of it is open (another session's clock closes it)", async () => {
    const ev = (id: string, session: string, time: string, extra: Record<string, unknown>) => JSON.stringify({ v: 1, id, session, time, ...extra });
    const lines = [
      ev('a1', 'a', '2026-03-02T10:00:00Z', { type: 'turn.start', turn: 't' }),
      ev('a2', 'a', '2026-03-02T10:00:01Z', {
        type: 'llm.usage',
        turn: 't',
        provider: 'anthropic',
        model: 'claude-haiku-4-5',
        inputTokens: 1000,
        outputTokens: 0,
      }),
      ev('b1', 'b', '2026-03-02T10:05:00Z', { type: 'turn.start', turn: 'x' }),
      ev('b2', 'b', '2026-03-02T10:20:00Z', { type: 'turn.start', turn: 'y' }), // 19 min after a's last event
      ev('b3', 'b', '2026-03-02T10:21:00Z', { type: 'turn.end', turn: 'y' }),
    ];
    const r = await replaySession({ log: memoryLog(lines), session: 'a', prices, lastPos: 2, batchSize: 1 });
    assert.deepEqual(
      r.turns.map((t) => [t.turn, t.status, t.cost]),
      [['t', 'abandoned', 0.001]],
    );
    assert.equal(r.position, 4, 'read on to the event that moved the clock past the idle timeout, and no further');
    assert.equal(r.ended, 'settled');
    assert.deepEqual(r.open, []);
    const atEnd = await replaySession({ log: memoryLog(lines.slice(0, 3)), session: 'a', prices, lastPos: 2 });
    assert.deepEqual(atEnd.turns, [], 'not abandoned yet when the log ends before the idle timeout');
    assert.deepEqual(
      atEnd.open.map((t) => [t.turn, t.events]),
      [['t', 2]],
    );
    assert.equal(atEnd.ended, 'end');
  });

  it("paced: each event waits for the pacer, and a turn is out before the next event's wait", async () => {
    const trace: string[] = [];
    await replaySession({
      log: memoryLog(exampleEvents('coding-session')),
      session: 'demo-1',
      prices,
      pace: async (ms) => void trace.push(`wait ${new Date(ms).toISOString().slice(11, 23)}`),
      onEvent: ({ event }) => trace.push(`event ${event.id}`),
      onAggregate: (a) => trace.push(`turn ${a.turn}`),
    });
    const i = trace.indexOf('event demo1-014');
    assert.deepEqual(trace.slice(i - 1, i + 4), ['wait 10:00:09.050', 'event demo1-014', 'turn turn-1', 'wait 10:01:00.000', 'event demo1-015']);
    assert.equal(trace.filter((t) => t.startsWith('wait')).length, 19);
  });
});
