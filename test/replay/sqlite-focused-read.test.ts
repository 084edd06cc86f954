import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseLoggedEvent } from '../../src/events/parse-logged-event.ts';
import type { LoggedEvent } from '../../src/events/step-event.ts';
import { sqliteFocusedRead } from '../../src/replay/sqlite-focused-read.ts';
import { STAND_IN_SESSION, watermarkStandIn } from '../../src/replay/watermark-stand-in.ts';
import { openEmbeddedStore } from '../../src/state/open-embedded-store.ts';

describe('sqliteFocusedRead', () => {
  it("the session's events whole, every other as a stand-in with its position, id and event time (string or number)", async () => {
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
      for await (const b of sqliteFocusedRead(store.log)('mine', { batchSize: 3 })) batches.push(b);
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
});
