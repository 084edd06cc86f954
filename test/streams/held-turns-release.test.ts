import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isTurnScoped } from '../../src/events/step-event.ts';
import { HeldTurns, type HeldTurn } from '../../src/streams/held-turns.ts';
import { MinQueue } from '../../src/streams/min-queue.ts';
import { CopyableClosedTurns, randomStream, seeded } from './random-stream.ts';

describe('MinQueue', () => {
  it('gives its items back by ascending key, whatever order they came in', () => {
    const rand = seeded(7);
    const q = new MinQueue<string>();
    const keys: number[] = [];
    for (let i = 0; i < 500; i++) {
      const k = Math.floor(rand() * 100) - 50; // many ties, negative keys
      keys.push(k);
      q.push(`item ${i} key ${k}`, k);
    }
    assert.equal(q.size, 500);
    const out: number[] = [];
    while (q.size > 0) {
      const key = q.peekKey();
      const item = q.pop()!;
      assert.ok(item.endsWith(` key ${key}`), `${item} came out under key ${key}`);
      out.push(key);
    }
    assert.deepEqual(
      out,
      [...keys].sort((a, b) => a - b),
    );
    assert.equal(q.pop(), undefined);
    assert.equal(q.peekKey(), Number.POSITIVE_INFINITY);
  });

  it('takes items between pops and empties on clear', () => {
    const q = new MinQueue<number>();
    for (const k of [5, 3, 9]) q.push(k, k);
    assert.equal(q.pop(), 3);
    q.push(1, 1);
    q.push(4, 4);
    assert.deepEqual([q.pop(), q.pop(), q.pop()], [1, 4, 5]);
    q.clear();
    assert.equal(q.size, 0);
    assert.equal(q.pop(), undefined);
  });
});

/**
 * `HeldTurns` drives its sweeps from queues (open turns, closed turns by their session clock at
 * close) instead of visiting every held turn. The rule it must keep, checked after every sweep of
 * random interleaved logs (lagging sessions included, whose closes are judged by their own clock):
 * a closed turn is released exactly when the sweep clock passes both its session's clock and the
 * sweep clock at its close by the grace, or its session's clock passes its own by as much; an open
 * turn is closed exactly when it idled out.
 */
describe('HeldTurns sweeps', () => {
  const timing = { turnIdleTimeoutMs: 20_000, graceMs: 10_000, sweepIntervalMs: 1_000 };
  const g = timing.graceMs;
  const idle = timing.turnIdleTimeoutMs;
  const dueForRelease = (h: HeldTurn<null>, clock: number): boolean =>
    Math.max(h.closedAtSession!, h.closedAtClock) + g < clock || h.closedAtSession! + g < h.info.lastMs;

  for (let seed = 1; seed <= 8; seed++) {
    it(`releases and idles out exactly the turns the rule says (seed ${seed})`, () => {
      const closed = new CopyableClosedTurns();
      const held = new HeldTurns<null>(timing, closed);
      const all = new Set<HeldTurn<null>>(); // every turn ever held, held or not now
      let releases = 0;
      let idles = 0;
      let sweeps = 0;
      let lastClock: number | null = null;
      for (const { pos, event: e } of randomStream(seed, { sessions: 40, idleMs: idle, graceMs: g })) {
        const info = held.observe(e, pos);
        const current = isTurnScoped(e) ? e.turn : undefined;
        if (e.type === 'session.end') for (const h of held.openOf(e.session)) held.close(h, pos);
        else if (current !== undefined) {
          let h = info.turns.get(current);
          if (h === undefined && !held.isLate(e.session, current, pos)) {
            h = held.hold(info, current, null);
            all.add(h);
          }
          if (h !== undefined && !held.fold(h, e.timeMs, pos) && e.type === 'turn.end' && h.closedAtSession === undefined) held.close(h, pos);
        }
        const before = closed.log.length;
        const idledNow: HeldTurn<null>[] = [];
        held.settle(pos, (h) => idledNow.push(h));
        const clock = held.snapshot(() => null).clock;
        if (clock === lastClock) continue;
        lastClock = clock;
        sweeps++;
        idles += idledNow.length;
        const released = new Set(closed.log.slice(before));
        releases += released.size;
        for (const h of all) {
          const key = `${h.session}/${h.turn}`;
          const isHeld = h.info.turns.get(h.turn) === h;
          if (released.has(key)) {
            assert.ok(!isHeld && dueForRelease(h, clock!), `${key} released at clock ${clock} before its grace passed`);
            all.delete(h);
          } else if (isHeld && h.closedAtSession !== undefined && !idledNow.includes(h)) {
            assert.ok(!dueForRelease(h, clock!), `${key} still held at clock ${clock} after its grace passed`);
          } else if (isHeld && h.closedAtSession === undefined && h.turn !== current) {
            const idled = Math.max(h.lastEventMs, h.seenAt) + idle < clock! || h.lastEventMs + idle < h.info.lastMs;
            assert.ok(!idled, `${key} still open at clock ${clock} after it idled out`);
          }
        }
      }
      assert.ok(sweeps > 50 && releases > 20 && idles > 0, `the log exercised the sweeps: ${sweeps} sweeps, ${releases} releases, ${idles} idle closes`);
    });
  }
});
