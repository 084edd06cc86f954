import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Subject } from 'rxjs';
import { createPriceTable } from '../../src/events/price-table.ts';
import { priceUsage } from '../../src/events/price-usage.ts';
import type { LlmUsageEvent, LoggedEvent } from '../../src/events/step-event.ts';
import type { SnapshotOptions } from '../../src/streams/operator-state.ts';
import { windowTurns, type WindowsSnapshot } from '../../src/streams/window-turns.ts';
import { randomStream } from './random-stream.ts';

const table = createPriceTable();
const price = (u: LlmUsageEvent) => priceUsage(u, table);
const timing = { turnIdleTimeoutMs: 20_000, graceMs: 10_000, sweepIntervalMs: 1_000 };

describe('windowTurns: deferred snapshots (a checkpoint encoded over the next events)', () => {
  it('written after more events, a deferred snapshot is exactly the eager one taken at the same point', () => {
    let compared = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const events = randomStream(seed, { sessions: 14, idleMs: timing.turnIdleTimeoutMs, graceMs: timing.graceMs });
      const input = new Subject<LoggedEvent>();
      let get: ((o?: SnapshotOptions) => WindowsSnapshot) | undefined;
      input.pipe(windowTurns({ ...timing, price, state: { expose: (g) => (get = g) } })).subscribe();
      // Several checkpoints in flight at once over the stream, each written some events after it was taken.
      const pending: { at: number; eager: string; deferred: WindowsSnapshot; writeAt: number }[] = [];
      for (let i = 0; i < events.length; i++) {
        input.next(events[i]!);
        if (i % 17 === 5) pending.push({ at: i, eager: JSON.stringify(get!()), deferred: get!({ deferred: true }), writeAt: i + 1 + (i % 40) });
        for (const p of pending.filter((q) => q.writeAt === i)) {
          assert.equal(JSON.stringify(p.deferred), p.eager, `seed ${seed}: snapshot after event ${p.at}, written after event ${i}`);
          compared++;
        }
      }
    }
    assert.ok(compared > 100, `${compared} snapshots compared`);
  });

  it('a deferred snapshot holds stand-ins for open windows until written; an eager one is plain data', () => {
    const events = randomStream(3, { sessions: 6, idleMs: timing.turnIdleTimeoutMs, graceMs: timing.graceMs });
    const input = new Subject<LoggedEvent>();
    let get: ((o?: SnapshotOptions) => WindowsSnapshot) | undefined;
    input.pipe(windowTurns({ ...timing, price, state: { expose: (g) => (get = g) } })).subscribe();
    for (const e of events.slice(0, 40)) input.next(e);
    const bodies = (s: WindowsSnapshot) => s.held.turns.map((t) => t[7]).filter((b) => typeof b !== 'number');
    assert.ok(bodies(get!()).length > 0, 'some windows are open');
    assert.ok(bodies(get!()).every(Array.isArray));
    assert.ok(bodies(get!({ deferred: true })).every((b) => !Array.isArray(b) && typeof (b as { toJSON?: unknown }).toJSON === 'function'));
  });
});
