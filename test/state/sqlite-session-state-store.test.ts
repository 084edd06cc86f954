import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { describe, it } from 'node:test';
import { DatabaseSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedStore } from '../../src/state/open-embedded-store.ts';
import { sessionStateStoreContract, turn } from './session-state-store.contract.ts';

const T0 = Date.parse('2025-06-01T12:00:00Z');

sessionStateStoreContract('SqliteSessionStateStore', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'turnstream-'));
  let store = openEmbeddedStore({ dataDir });
  return {
    store: store.state,
    reopen: async () => {
      await store.state.close();
      store.close();
      store = openEmbeddedStore({ dataDir });
      return store.state;
    },
    cleanup: async () => {
      await store.state.close();
      store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
});

describe('SqliteSessionStateStore.closedTurnAt', () => {
  const withDir = async (run: (dataDir: string) => Promise<void>): Promise<void> => {
    const dataDir = mkdtempSync(join(tmpdir(), 'turnstream-'));
    try {
      await run(dataDir);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  };

  /** The turns table as versions before the closed_at_pos column made it, holding turn s1/old closed at 9. */
  const oldTurnsTable = (dataDir: string): void => {
    const db = new DatabaseSync(join(dataDir, 'turnstream.db'));
    db.exec(`CREATE TABLE turns (
      session TEXT NOT NULL, turn TEXT NOT NULL, revision INTEGER NOT NULL, start_ms REAL NOT NULL, body TEXT NOT NULL,
      UNIQUE (session, turn))`);
    db.prepare('INSERT INTO turns VALUES (?, ?, ?, ?, ?)').run('s1', 'old', 0, T0, JSON.stringify({ ...turn('s1', 'old', 0, T0), closedAtPos: 9 }));
    db.close();
  };

  it("answers the stored latest revision's closedAtPos, and undefined for a turn never stored", () =>
    withDir(async (dataDir) => {
      const store = openEmbeddedStore({ dataDir });
      try {
        await store.state.commit({ writes: [], deltas: [], turns: [{ ...turn('s1', 't1', 0, T0), closedAtPos: 12 }], position: 12 });
        assert.equal(store.state.closedTurnAt?.('s1', 't1'), 12);
        await store.state.commit({ writes: [], deltas: [], turns: [{ ...turn('s1', 't1', 1, T0), closedAtPos: 40 }], position: 40 });
        assert.equal(store.state.closedTurnAt?.('s1', 't1'), 40);
        // An older revision arriving late does not move it back (the row keeps the newer one).
        await store.state.commit({ writes: [], deltas: [], turns: [{ ...turn('s1', 't1', 0, T0), closedAtPos: 50 }], position: 50 });
        assert.equal(store.state.closedTurnAt?.('s1', 't1'), 40);
        assert.equal(store.state.closedTurnAt?.('s1', 't2'), undefined);
        assert.equal(store.state.closedTurnAt?.('s2', 't1'), undefined);
      } finally {
        store.close();
      }
    }));

  it('reads turns stored by a version without the closed_at_pos column from their body', () =>
    withDir(async (dataDir) => {
      oldTurnsTable(dataDir);
      const store = openEmbeddedStore({ dataDir });
      try {
        assert.equal(store.state.closedTurnAt?.('s1', 'old'), 9);
        await store.state.commit({ writes: [], deltas: [], turns: [{ ...turn('s1', 'new', 0, T0), closedAtPos: 21 }], position: 21 });
        assert.equal(store.state.closedTurnAt?.('s1', 'new'), 21);
        assert.equal(store.state.closedTurnAt?.('s1', 'old'), 9);
      } finally {
        store.close();
      }
    }));

  it('closedTurnsAt answers a list as closedTurnAt answers each (null where only the body says)', () =>
    withDir(async (dataDir) => {
      oldTurnsTable(dataDir);
      const store = openEmbeddedStore({ dataDir });
      try {
        const stored = Array.from({ length: 50 }, (_, i) => ({ ...turn(`s${i % 7}`, `t${i}`, 0, T0), closedAtPos: 100 + i }));
        await store.state.commit({ writes: [], deltas: [], turns: stored, position: 200 });
        const asked: [string, string][] = [
          ['s1', 'old'],
          ['s1', 'nope'],
          ['s0', 't0'],
          ['s"\\', 'odd "quotes" \\ é'],
          ['s3', 't3'],
          ['s3', 't3'],
          ['s6', 't48'],
        ];
        const bulk = store.state.closedTurnsAt!(asked);
        assert.deepEqual(bulk, [null, undefined, 100, undefined, 103, 103, 148]);
        assert.deepEqual(
          asked.map(([s, t], i) => (bulk[i] === null ? store.state.closedTurnAt!(s, t) : bulk[i])),
          asked.map(([s, t]) => store.state.closedTurnAt!(s, t)),
        );
        assert.deepEqual(store.state.closedTurnsAt!([]), []);
      } finally {
        store.close();
      }
    }));
});
