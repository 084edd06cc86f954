import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { LoggedEvent } from '../../src/events/step-event.ts';
import { StoreClosedTurns } from '../../src/pipeline/store-closed-turns.ts';
import { openEmbeddedStore } from '../../src/state/open-embedded-store.ts';
import { turn } from '../state/session-state-store.contract.ts';
import { turnStart } from '../streams/make-events.ts';

const T0 = Date.parse('2025-06-01T12:00:00Z');

describe('StoreClosedTurns', () => {
  it('answers from the store for turns closed at or below the committed position, and holds only the others until their commit', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'turnstream-'));
    const store = openEmbeddedStore({ dataDir });
    try {
      // Committed through 100, with turn t1 closed at 40 (what a rebuild re-reads).
      await store.state.commit({ writes: [], deltas: [], turns: [{ ...turn('s', 't1', 0, T0), closedAtPos: 40 }], position: 100 });
      let committed = 100;
      const closed = new StoreClosedTurns(store.state, () => committed);
      const pending = (): number => (closed as unknown as { pending: Map<string, number> }).pending.size;

      // A rebuild releases t1 again: the store answers, nothing is held in memory.
      closed.released('s', 't1', 40);
      assert.equal(pending(), 0);
      assert.equal(closed.closedBefore('s', 't1', 41), true);
      assert.equal(closed.closedBefore('s', 't1', 40), false);

      // Past the committed position: t2 is not in the store yet, so it is held until the commit.
      closed.released('s', 't2', 120);
      assert.equal(pending(), 1);
      assert.equal(closed.closedBefore('s', 't2', 121), true);
      await store.state.commit({ writes: [], deltas: [], turns: [{ ...turn('s', 't2', 0, T0), closedAtPos: 120 }], position: 130 });
      committed = 130;
      closed.committed();
      assert.equal(pending(), 0);
      assert.equal(closed.closedBefore('s', 't2', 121), true);
      assert.equal(closed.closedBefore('s', 't3', 121), false);
    } finally {
      store.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("prefetch answers a batch's new turns from one bulk call, as closedTurnAt would, and forgets them at the next batch", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'turnstream-'));
    const store = openEmbeddedStore({ dataDir });
    try {
      await store.state.commit({
        writes: [],
        deltas: [],
        turns: [
          { ...turn('s', 't1', 0, T0), closedAtPos: 40 },
          { ...turn('s', 't2', 0, T0), closedAtPos: 90 },
        ],
        position: 100,
      });
      let single = 0;
      const target = {
        ...store.state,
        commit: store.state.commit.bind(store.state),
        position: store.state.position.bind(store.state),
        closedTurnsAt: store.state.closedTurnsAt!.bind(store.state),
        closedTurnAt: (session: string, t: string) => {
          single++;
          return store.state.closedTurnAt!(session, t);
        },
      };
      const closed = new StoreClosedTurns(target, () => 100);
      const start = (pos: number, t: string): LoggedEvent => ({ ...turnStart({ id: `e${pos}`, at: 0, session: 's', turn: t }), pos });
      closed.prefetch([start(101, 't1'), start(102, 't2'), start(103, 't3')]);
      assert.deepEqual(
        [closed.closedBefore('s', 't1', 101), closed.closedBefore('s', 't2', 50), closed.closedBefore('s', 't2', 102), closed.closedBefore('s', 't3', 103)],
        [true, false, true, false],
      );
      assert.equal(single, 0, 'no single lookup for the prefetched turns');
      // A turn the batch did not start is asked on its own.
      assert.equal(closed.closedBefore('s', 't9', 10), false);
      assert.equal(single, 1);
      // The next batch forgets the previous answers (the store changed with the commit in between).
      await store.state.commit({ writes: [], deltas: [], turns: [{ ...turn('s', 't3', 0, T0), closedAtPos: 105 }], position: 110 });
      closed.prefetch([]);
      assert.equal(closed.closedBefore('s', 't3', 111), true);
      assert.equal(single, 2);
    } finally {
      store.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
