import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPriceTable } from '../../src/events/price-table.ts';
import { priceUsage } from '../../src/events/price-usage.ts';
import { isTurnScoped, type LlmUsageEvent, type TurnScopedEvent } from '../../src/events/step-event.ts';
import { SnapshotReader } from '../../src/streams/snapshot-reader.ts';
import { TurnWindow } from '../../src/streams/turn-window.ts';
import { randomStream, seeded } from './random-stream.ts';

const table = createPriceTable();
const price = (u: LlmUsageEvent) => priceUsage(u, table);
const reader = new SnapshotReader('windowTurns');

/** The turn-scoped events of random streams (late, out-of-order and repeated ones included), per turn in arrival order. */
function turnsOf(seed: number): TurnScopedEvent[][] {
  const turns = new Map<string, TurnScopedEvent[]>();
  for (const { event } of randomStream(seed, { sessions: 12, idleMs: 20_000, graceMs: 10_000 })) {
    if (!isTurnScoped(event)) continue;
    const key = `${event.session}\u0000${event.turn}`;
    turns.set(key, [...(turns.get(key) ?? []), event]);
  }
  return [...turns.values()];
}

describe('TurnWindow.compacted: a closed window held as its snapshot text', () => {
  it('emits exactly what the window it replaced would, through every later event and revision', () => {
    let emissions = 0;
    let revisions = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const rand = seeded(seed * 7919);
      for (const events of turnsOf(seed)) {
        const [first] = events;
        const plain = new TurnWindow(first!.session, first!.turn);
        let compact = new TurnWindow(first!.session, first!.turn);
        let closed = false;
        for (const [i, e] of events.entries()) {
          plain.add(e, price);
          compact.add(e, price);
          // Emit at a turn.end, once closed at every later event (a revision), and at random points (idle closes).
          if (!(closed || e.type === 'turn.end' || rand() < 0.25)) continue;
          const session = rand() < 0.5 ? { agent: 'a', user: 'u' } : undefined;
          const status = e.type === 'turn.end' ? 'completed' : 'abandoned';
          assert.deepEqual(compact.emit(status, i + 1, session), plain.emit(status, i + 1, session), `${e.session}/${e.turn} event ${i}`);
          if (closed) revisions++;
          closed = true;
          emissions++;
          const text = compact.snapshotText();
          compact = compact.compacted(reader);
          assert.equal(compact.snapshotText(), text, 'the compacted window keeps the text it was made from');
          assert.equal(compact.compacted(reader), compact, 'compacting a compacted window changes nothing');
        }
        assert.equal(compact.snapshotText(), plain.snapshotText(), 'and ends with the same state');
      }
    }
    assert.ok(emissions > 500 && revisions > 100, `the streams exercise it (${emissions} emissions, ${revisions} revisions)`);
  });
});
