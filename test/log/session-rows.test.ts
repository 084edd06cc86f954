import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { createSessionIndex, SEGMENT_BITS, SessionExtents, SessionRows, type SessionRow } from '../../src/log/session-rows.ts';

const SEGMENT = 2 ** SEGMENT_BITS;

/** Rows at explicit positions spread over several segments (gaps, segment edges, an empty segment), sessions a/b/c. */
function rowsSpread(): SessionRow[] {
  const positions = [1, 2, 3, SEGMENT - 1, SEGMENT, SEGMENT + 1, 2 * SEGMENT + 5, 4 * SEGMENT - 1, 4 * SEGMENT, 4 * SEGMENT + 7, 7 * SEGMENT + 3];
  const extra = Array.from({ length: 60 }, (_, i) => 5 * SEGMENT + 11 * i);
  return [...positions, ...extra].map((pos, i) => [pos, `{"n":${i},"s":"${'abc'[(i * 7) % 3]}"}`]);
}
const sessionOf = (body: string): string => (JSON.parse(body) as { s: string }).s;

type Store =
  | 'segments, extents from the migration'
  | 'segments, extents from appends'
  | 'segments, half the rows covered'
  | 'older (session, pos) index only'
  | 'no index';

/** The rows in a store of each kind; `ticks_through` (what the extents cover) in log_meta. */
function db(kind: Store): DatabaseSync {
  const d = new DatabaseSync(':memory:');
  d.exec('CREATE TABLE events (pos INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, session TEXT NOT NULL, body TEXT NOT NULL)');
  d.exec('CREATE TABLE log_meta (key TEXT PRIMARY KEY, value NOT NULL) WITHOUT ROWID');
  if (kind === 'older (session, pos) index only') d.exec('CREATE INDEX events_by_session ON events (session, pos)');
  const rows = rowsSpread().sort((x, y) => x[0] - y[0]);
  const last = rows.at(-1)![0];
  const covered = kind === 'segments, half the rows covered' ? rows[Math.floor(rows.length / 2)]![0] : last;
  if (kind === 'segments, extents from appends') createSessionIndex(d, 0);
  const insert = d.prepare('INSERT INTO events (pos, id, session, body) VALUES (?, ?, ?, ?)');
  const extents = kind === 'segments, extents from appends' ? new SessionExtents(d) : undefined;
  for (const [i, [pos, body]] of rows.entries()) {
    insert.run(pos, `id-${pos}`, sessionOf(body), body);
    extents?.appended(sessionOf(body), pos);
    if (i % 7 === 6) extents?.flush(); // batches of 7 rows
  }
  extents?.flush();
  d.prepare("INSERT INTO log_meta (key, value) VALUES ('ticks_through', ?)").run(covered);
  if (kind === 'segments, extents from the migration' || kind === 'segments, half the rows covered') createSessionIndex(d, covered);
  return d;
}

/** What a plain filter of the rows gives. */
function expected(session: string, after: number, through: number, limit: number): SessionRow[] {
  return rowsSpread()
    .sort((x, y) => x[0] - y[0])
    .filter(([pos, body]) => sessionOf(body) === session && pos > after && pos <= through)
    .slice(0, limit);
}

describe('SessionRows: one session through the (segment, session) index', () => {
  const kinds: Store[] = [
    'segments, extents from the migration',
    'segments, extents from appends',
    'segments, half the rows covered',
    'older (session, pos) index only',
    'no index',
  ];
  for (const kind of kinds) {
    it(`${kind}: first() and rows() equal a plain filter, across segments, limits and ranges`, () => {
      const d = db(kind);
      const rows = new SessionRows(d);
      const ends = [0, 1, 3, SEGMENT - 1, SEGMENT, 2 * SEGMENT, 4 * SEGMENT, 5 * SEGMENT + 100, 8 * SEGMENT, Number.MAX_SAFE_INTEGER];
      for (const session of ['a', 'b', 'c', 'nobody']) {
        assert.equal(rows.first(session), expected(session, 0, Number.MAX_SAFE_INTEGER, 1)[0]?.[0] ?? null, `first of ${session}`);
        for (const after of ends)
          for (const through of ends)
            for (const limit of [1, 2, 5, 1000])
              assert.deepEqual(
                rows.rows(session, after, through, limit),
                expected(session, after, through, limit),
                `${session} (${after}, ${through}] limit ${limit}`,
              );
      }
      d.close();
    });
  }

  it('an empty log: no first row, no rows', () => {
    const d = new DatabaseSync(':memory:');
    d.exec('CREATE TABLE events (pos INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, session TEXT NOT NULL, body TEXT NOT NULL)');
    d.exec('CREATE TABLE log_meta (key TEXT PRIMARY KEY, value NOT NULL) WITHOUT ROWID');
    createSessionIndex(d, 0);
    const rows = new SessionRows(d);
    assert.equal(rows.first('a'), null);
    assert.deepEqual(rows.rows('a', 0, 100, 10), []);
  });

  it('createSessionIndex builds the index and the extents once, replacing the older (session, pos) index', () => {
    const d = db('older (session, pos) index only');
    const indexes = (): string[] =>
      (
        d.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' AND sql IS NOT NULL ORDER BY name").all() as { name: string }[]
      ).map((r) => r.name);
    assert.deepEqual(indexes(), ['events_by_session']);
    assert.equal(typeof createSessionIndex(d, 5 * SEGMENT), 'number', 'built: how long it took');
    assert.deepEqual(indexes(), ['events_by_segment_session']);
    const extents = d.prepare('SELECT session, first_pos, last_pos FROM session_extent ORDER BY session').all();
    const covered = rowsSpread().filter(([pos]) => pos <= 5 * SEGMENT);
    const expect = ['a', 'b', 'c'].map((session) => {
      const mine = covered.filter(([, body]) => sessionOf(body) === session).map(([pos]) => pos);
      return { session, first_pos: Math.min(...mine), last_pos: Math.max(...mine) };
    });
    assert.deepEqual(
      extents.map((e) => ({ ...e })),
      expect,
      'extents of the rows through ticks_through',
    );
    assert.equal(createSessionIndex(d, 5 * SEGMENT), undefined, 'already there: nothing to do');
  });
});
