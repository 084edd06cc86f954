import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Subject } from 'rxjs';
import { createPriceTable } from '../../src/events/price-table.ts';
import { priceUsage } from '../../src/events/price-usage.ts';
import type { LlmUsageEvent, LoggedEvent } from '../../src/events/step-event.ts';
import { windowTurns, type WindowOutput, type WindowsSnapshot } from '../../src/streams/window-turns.ts';
import { CopyableClosedTurns, randomStream } from './random-stream.ts';

const table = createPriceTable();
const price = (u: LlmUsageEvent) => priceUsage(u, table);
const timing = { turnIdleTimeoutMs: 20_000, graceMs: 10_000, sweepIntervalMs: 1_000 };

/** One subscription of `windowTurns`, fed one event at a time. */
function start(quietThrough?: number) {
  const input = new Subject<LoggedEvent>();
  let current: WindowOutput[] = [];
  let snapshot: (() => WindowsSnapshot) | undefined;
  const quiet = quietThrough === undefined ? {} : { quietThrough: () => quietThrough };
  input
    .pipe(windowTurns({ ...timing, price, closedTurns: new CopyableClosedTurns(), state: { expose: (s) => (snapshot = s) }, ...quiet }))
    .subscribe((o) => current.push(o));
  return {
    feed(logged: LoggedEvent): WindowOutput[] {
      current = [];
      input.next(logged);
      return current;
    },
    snapshot: () => JSON.stringify(snapshot!()),
  };
}

describe('windowTurns quietThrough (a rebuild up to the committed position)', () => {
  it('emits exactly what a loud run emits after that position, revisions superseding the same aggregates, with the same state at every event', () => {
    let quieted = 0;
    let supersededAfter = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const events = randomStream(seed, { sessions: 14, idleMs: timing.turnIdleTimeoutMs, graceMs: timing.graceMs });
      for (const cut of [0, Math.floor(events.length / 3), Math.floor((2 * events.length) / 3), events.length]) {
        const loud = start();
        const quiet = start(cut);
        for (const e of events) {
          const all = loud.feed(e);
          const kept = all.filter((o) => o.kind === 'late' || o.aggregate.closedAtPos > cut);
          quieted += all.length - kept.length;
          supersededAfter += kept.filter((o) => o.kind === 'turn' && o.aggregate.supersedes !== undefined && o.aggregate.closedAtPos > cut && cut > 0).length;
          assert.deepStrictEqual(quiet.feed(e), kept, `seed ${seed}, quiet through ${cut}: outputs at position ${e.pos}`);
          assert.equal(quiet.snapshot(), loud.snapshot(), `seed ${seed}, quiet through ${cut}: state after position ${e.pos}`);
        }
      }
    }
    // The streams exercise both sides: turns closed quietly, and later revisions of them emitted loudly.
    assert.ok(quieted > 100, `only ${quieted} turns were closed quietly`);
    assert.ok(supersededAfter > 5, `only ${supersededAfter} revisions after a cut superseded an aggregate`);
  });
});
