import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseLoggedEvent } from '../../src/events/parse-logged-event.ts';
import type { LoggedEvent } from '../../src/events/step-event.ts';
import { sqliteFocusedRead } from '../../src/replay/sqlite-focused-read.ts';
import { clockTick, STAND_IN_SESSION, watermarkStandIn } from '../../src/log/watermark-stand-in.ts';
import { openEmbeddedStore } from '../../src/state/open-embedded-store.ts';

describe('sqliteFocusedRead', () => {
  it("a sweep interval that is not a whole number of seconds: the session's events whole, every other as a stand-in with its position, id and event time (string or number)", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'turnstream-focused-'));
    const store = openEmbeddedStore({ dataDir });
    try {
      const raws = [
        { v: 1, id: 'a', type: 'turn.start', session: 'mine', turn: 't', time: '2026-03-02T10:00:00.250Z' },
        // Another session, with a nested "time" that must not be mistaken for the event's.
        { v: 1, id: 'b', type: 'state.set', session: 'other', value: { time: 'nope' }, key: 'k', time: '2026-03-02T10:00:01+01:00' },
        { v: 1, id: 'c', type: 'turn.start', session: 'other', turn: 'x', time: 1772445602000 },
        { v: 1, id: 'd', type: 'turn.end', session: 'mine', turn: 't', time: 1772445603000 },
      ].map((e) => JSON.stringify(e));
      store.log.appendSync(raws.map((raw) => ({ event: parseLoggedEvent(raw), raw })));
      const batches: LoggedEvent[][] = [];
      for await (const b of sqliteFocusedRead(store.log)('mine', { batchSize: 3, sweepMs: 1500 })) batches.push(b);
      assert.deepEqual(
        batches.map((b) => b.length),
        [3, 1],
      );
      assert.deepEqual(batches.flat(), [
        { pos: 1, event: parseLoggedEvent(raws[0]!) },
        watermarkStandIn(2, 'b', Date.parse('2026-03-02T09:00:01Z')),
        watermarkStandIn(3, 'c', 1772445602000),
        { pos: 4, event: parseLoggedEvent(raws[3]!) },
      ]);
      assert.equal(batches[0]![1]!.event.session, STAND_IN_SESSION);
    } finally {
      store.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
  it("a sweep interval of whole seconds (the default): the session's events whole, and only the clock ticks of the others, each with its own id", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'turnstream-focused-'));
    const store = openEmbeddedStore({ dataDir });
    try {
      const raws = [
        { v: 1, id: 'a', type: 'turn.start', session: 'mine', turn: 't', time: '2026-03-02T10:00:00.250Z' },
        { v: 1, id: 'b', type: 'state.set', session: 'other', key: 'k', value: 1, time: '2026-03-02T09:00:01Z' }, // behind the clock: no tick
        { v: 1, id: 'c', type: 'turn.start', session: 'other', turn: 'x', time: 1772445602000 }, // the clock enters 10:00:02: a tick
        { v: 1, id: 'e', type: 'turn.start', session: 'other', turn: 'y', time: 1772445602500 }, // same second: no tick
        { v: 1, id: 'd', type: 'turn.end', session: 'mine', turn: 't', time: 1772445603000 }, // a tick too, but the event itself is read
      ].map((e) => JSON.stringify(e));
      store.log.appendSync(raws.map((raw) => ({ event: parseLoggedEvent(raw), raw })));
      const batches: LoggedEvent[][] = [];
      for await (const b of sqliteFocusedRead(store.log)('mine', { batchSize: 2, sweepMs: 5000 })) batches.push(b);
      assert.deepEqual(batches, [
        [{ pos: 1, event: parseLoggedEvent(raws[0]!) }, clockTick(3, 1772445602000)],
        [{ pos: 5, event: parseLoggedEvent(raws[4]!) }],
      ]);
      const tick = batches[0]![1]!.event;
      assert.equal(tick.session, STAND_IN_SESSION);
      assert.ok(tick.id.length > 256, 'longer than any event id may be');
      assert.notEqual(tick.id, clockTick(4, 0).event.id);
    } finally {
      store.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
