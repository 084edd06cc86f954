import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { after, describe, it } from 'node:test';
import { parseLoggedEvent } from '../../src/events/parse-logged-event.ts';
import type { AppendInput } from '../../src/log/event-log.ts';
import { openSqlite } from '../../src/log/open-sqlite.ts';
import { SqliteEventLog } from '../../src/log/sqlite-event-log.ts';
import { openEmbeddedStore } from '../../src/state/open-embedded-store.ts';
import type { Logger } from '../../src/logger.ts';

const dirs: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'turnstream-ticks-'));
  dirs.push(d);
  return d;
};
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const T0 = Date.parse('2026-03-02T10:00:00.000Z');
const raw = (id: string, time: number | string, session = 's'): string => JSON.stringify({ v: 1, id, type: 'session.start', session, time });
const input = (id: string, time: number | string, session = 's'): AppendInput => {
  const r = raw(id, time, session);
  return { event: parseLoggedEvent(r), raw: r };
};
const ticksOf = (db: DatabaseSync): [number, number][] =>
  (db.prepare('SELECT pos, wm FROM clock_ticks ORDER BY pos').all() as { pos: number; wm: number }[]).map((r) => [r.pos, r.wm]);

/** The rule, spelled out: a tick where the largest finite time so far enters a later second (the first event always). */
function expectedTicks(times: readonly number[]): [number, number][] {
  const out: [number, number][] = [];
  let clock = Number.NEGATIVE_INFINITY;
  times.forEach((t, i) => {
    if (!Number.isFinite(t)) return;
    if (Math.floor(t / 1000) > Math.floor(clock / 1000)) out.push([i + 1, t]);
    clock = Math.max(clock, t);
  });
  return out;
}

describe('clock ticks (SqliteEventLog.appendSync)', () => {
  it('one tick per second the clock enters, with its value; not for earlier or same-second times, duplicates, or non-finite times', () => {
    const store = openEmbeddedStore({ dataDir: tmp() });
    try {
      const out = store.log.appendSync([
        input('a', T0 + 250), // first event: always a tick
        input('b', T0 + 900), // same second
        input('c', T0 - 5000), // earlier: the clock stays
        input('d', new Date(T0 + 1001).toISOString()), // a string time, next second
        input('a', T0 + 9000), // duplicate id: not stored, no tick
        input('e', 'not a time'), // NaN: never a tick
        input('f', T0 + 3999),
      ]);
      assert.deepEqual(
        out.map((o) => o.status),
        ['appended', 'appended', 'appended', 'appended', 'duplicate', 'appended', 'appended'],
      );
      assert.deepEqual(ticksOf(store.db), [
        [1, T0 + 250],
        [4, T0 + 1001],
        [6, T0 + 3999],
      ]);
    } finally {
      store.close();
    }
  });

  it('carries on across batches and reopening: the clock is loaded from the last tick', () => {
    const dir = tmp();
    const times = [T0 + 100, T0 + 700, T0 + 1500, T0 + 1200, T0 + 1999, T0 + 2000, T0 + 2000, T0 + 61_000, T0 + 61_500, T0 + 62_000];
    let store = openEmbeddedStore({ dataDir: dir });
    store.log.appendSync(times.slice(0, 3).map((t, i) => input(`e${i}`, t)));
    store.log.appendSync(times.slice(3, 5).map((t, i) => input(`e${i + 3}`, t)));
    store.close();
    store = openEmbeddedStore({ dataDir: dir });
    try {
      store.log.appendSync(times.slice(5, 8).map((t, i) => input(`e${i + 5}`, t)));
      store.log.appendSync(times.slice(8).map((t, i) => input(`e${i + 8}`, t)));
      assert.deepEqual(ticksOf(store.db), expectedTicks(times));
    } finally {
      store.close();
    }
  });

  it('a failed append leaves no tick and no clock behind', () => {
    const store = openEmbeddedStore({ dataDir: tmp() });
    try {
      store.log.appendSync([input('a', T0)]);
      const bad = { event: { ...parseLoggedEvent(raw('b', T0 + 5000)), session: null }, raw: raw('b', T0 + 5000) } as unknown as AppendInput;
      assert.throws(() => store.log.appendSync([input('x', T0 + 3000), bad]), /NOT NULL/);
      // Had the failed batch's clock (T0 + 3 s) stuck, this would not tick.
      store.log.appendSync([input('c', T0 + 2000)]);
      assert.deepEqual(ticksOf(store.db), [
        [1, T0],
        [2, T0 + 2000],
      ]);
    } finally {
      store.close();
    }
  });
});

describe('clock ticks: a store logged before them', () => {
  /** An old store: the events table only, rows inserted as the old log did. */
  function oldStore(dir: string, bodies: readonly string[]): void {
    const db = openSqlite({ dataDir: dir });
    db.exec('CREATE TABLE events (pos INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, session TEXT NOT NULL, body TEXT NOT NULL)');
    const insert = db.prepare('INSERT INTO events (id, session, body) VALUES (?, ?, ?)');
    for (const [i, b] of bodies.entries()) insert.run(`r${i}`, 's', b);
    db.close();
  }

  const times: (number | string)[] = [T0 + 500, T0 + 200, new Date(T0 + 1300).toISOString(), 'garbage', T0 + 1999, T0 + 2001, T0 + 10_000.5, T0 + 9000];
  const bodies = [...times.map((t, i) => raw(`r${i}`, t)), '{not json', JSON.stringify({ v: 1, id: 'x', time: T0 + 20_000 })];

  it('the first writer computes the ticks appends would have made, and the session index; a reader writes nothing', () => {
    const dir = tmp();
    oldStore(dir, bodies);
    const reader = openEmbeddedStore({ dataDir: dir });
    const objects = (): string[] =>
      (
        reader.db.prepare("SELECT name FROM sqlite_master WHERE name IN ('clock_ticks', 'events_by_segment_session', 'log_meta') ORDER BY name").all() as {
          name: string;
        }[]
      ).map((r) => r.name);
    assert.deepEqual(objects(), [], 'opening to read creates nothing');
    const lines: string[] = [];
    const logger = { info: (msg: string) => lines.push(msg) } as unknown as Logger;
    const db = openSqlite({ dataDir: dir });
    new SqliteEventLog(db, { writer: true, logger });
    db.close();
    assert.deepEqual(objects(), ['clock_ticks', 'events_by_segment_session', 'log_meta']);
    assert.equal(lines.length, 1, 'the migration is logged once');
    const asAppended = [...times.map((t) => (typeof t === 'number' ? t : Date.parse(t))), Number.NaN, T0 + 20_000];
    assert.deepEqual(ticksOf(reader.db), expectedTicks(asAppended));
    reader.close();

    // Same events appended to a new store: the same ticks.
    const fresh = openEmbeddedStore({ dataDir: tmp() });
    fresh.log.appendSync(bodies.map((b, i) => ({ event: { ...safeParse(b), id: `r${i}`, session: 's' }, raw: b }) as AppendInput));
    const again = openEmbeddedStore({ dataDir: dir, writable: true });
    try {
      assert.deepEqual(ticksOf(again.db), ticksOf(fresh.db));
      again.log.appendSync([input('next', T0 + 20_500), input('later', T0 + 21_000)]);
      assert.deepEqual(ticksOf(again.db).at(-1), [bodies.length + 2, T0 + 21_000], 'appends go on from the migrated clock');
    } finally {
      again.close();
      fresh.close();
    }
  });

  it('rows a writer without ticks appended later are caught up at the next open', () => {
    const dir = tmp();
    const store = openEmbeddedStore({ dataDir: dir, writable: true });
    store.log.appendSync([input('a', T0), input('b', T0 + 1500)]);
    // An older turnstream appends without ticks.
    store.db.prepare('INSERT INTO events (id, session, body) VALUES (?, ?, ?)').run('c', 's', raw('c', T0 + 3000));
    store.close();
    const reopened = openEmbeddedStore({ dataDir: dir, writable: true });
    try {
      assert.deepEqual(ticksOf(reopened.db), expectedTicks([T0, T0 + 1500, T0 + 3000]));
      const extents = reopened.db.prepare('SELECT session, first_pos, last_pos FROM session_extent').all();
      assert.deepEqual(
        extents.map((e) => ({ ...e })),
        [{ session: 's', first_pos: 1, last_pos: 3 }],
        'the extents cover the caught-up row too',
      );
    } finally {
      reopened.close();
    }
  });

  it('a store of the previous version (ticks, the (session, pos) index, no extents) gets the new index and extents at the next open, logged once', async () => {
    const dir = tmp();
    const store = openEmbeddedStore({ dataDir: dir, writable: true });
    store.log.appendSync([input('a', T0, 's1'), input('b', T0 + 1500, 's2'), input('c', T0 + 2500, 's1')]);
    store.db.exec('DROP INDEX events_by_segment_session; DROP TABLE session_extent; CREATE INDEX events_by_session ON events (session, pos)');
    store.close();
    const lines: { msg: string; fields: unknown }[] = [];
    const logger = { info: (msg: string, fields: unknown) => lines.push({ msg, fields }) } as unknown as Logger;
    const db = openSqlite({ dataDir: dir });
    const log = new SqliteEventLog(db, { writer: true, logger });
    try {
      assert.deepEqual(
        lines.map((l) => l.msg),
        ['event log: session index and extents built (one-time migration)'],
      );
      const names = db
        .prepare("SELECT name FROM sqlite_master WHERE name IN ('events_by_session', 'events_by_segment_session', 'session_extent') ORDER BY name")
        .all();
      assert.deepEqual(
        names.map((n) => n['name']),
        ['events_by_segment_session', 'session_extent'],
      );
      const read: number[] = [];
      for await (const batch of log.read({ session: 's1' })) for (const e of batch) read.push(e.pos);
      assert.deepEqual(read, [1, 3]);
    } finally {
      db.close();
    }
  });
});

function safeParse(body: string): AppendInput['event'] {
  try {
    return parseLoggedEvent(body);
  } catch {
    return { timeMs: Number.NaN } as unknown as AppendInput['event'];
  }
}
