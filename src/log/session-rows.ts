import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { indexExists, tableExists } from './log-meta.ts';

/**
 * One-session reads without an index that follows the sessions: the session index is keyed by
 * (segment, session), a segment being 2^14 = 16,384 consecutive log positions, so an append
 * touches only the last segment's part of it (in the page cache) instead of one random leaf per
 * session across an index as big as the log: with (session, pos), an append cost 27–29 µs per
 * event into a 300k-event log of 2,000 sessions (growing with the log as the index outgrew the
 * cache); with (segment, session) 6.5–7.3 µs (5.4–5.7 without any session index). A session's
 * rows are read segment by segment, only across the segments between its first and last row:
 * `session_extent` holds those two positions per session (one row per session, updated once per
 * append batch), so a read costs one index seek per segment the session spans, not per segment of
 * the log (cold, a seek is a disk read: ~2 ms here).
 *
 * Extents cover the rows the clock ticks cover (`ticks_through`: see `ClockTicks`, which keeps
 * both); rows after that (logged by an older writer) are read segment by segment to the end.
 */
export const SEGMENT_BITS = 14;
export const SESSION_INDEX = 'events_by_segment_session';
/** The index before segments (session, pos): dropped once the new one is built. */
const OLD_SESSION_INDEX = 'events_by_session';

/** A position's segment, as SQLite's `pos >> SEGMENT_BITS` (JavaScript's `>>` would cut to 32 bits). */
const segmentOf = (pos: number): number => Math.floor(pos / 2 ** SEGMENT_BITS);

/**
 * Creates the session index and the extents table when missing (a one-time migration of an older
 * store: the index built, the old one dropped, the extents of the rows up to `ticksThrough`
 * computed); how long it took, when there was anything to do. In the caller's transaction.
 */
export function createSessionIndex(db: DatabaseSync, ticksThrough: number): number | undefined {
  const index = indexExists(db, SESSION_INDEX);
  const extents = tableExists(db, 'session_extent');
  if (index && extents) return undefined;
  const started = performance.now();
  if (!index) db.exec(`CREATE INDEX ${SESSION_INDEX} ON events (pos >> ${SEGMENT_BITS}, session)`);
  if (indexExists(db, OLD_SESSION_INDEX)) db.exec(`DROP INDEX ${OLD_SESSION_INDEX}`);
  if (!extents) {
    db.exec('CREATE TABLE session_extent (session TEXT PRIMARY KEY, first_pos INTEGER NOT NULL, last_pos INTEGER NOT NULL) WITHOUT ROWID');
    db.prepare('INSERT INTO session_extent SELECT session, MIN(pos), MAX(pos) FROM events WHERE pos <= ? GROUP BY session').run(ticksThrough);
  }
  return performance.now() - started;
}

/** The writer's side of `session_extent`: each append batch's sessions, first and last positions, upserted at its end. */
export class SessionExtents {
  private readonly upsert: StatementSync;
  private readonly batch = new Map<string, [first: number, last: number]>();

  constructor(db: DatabaseSync) {
    this.upsert = db.prepare(`INSERT INTO session_extent (session, first_pos, last_pos) VALUES (?, ?, ?)
      ON CONFLICT (session) DO UPDATE SET first_pos = MIN(first_pos, excluded.first_pos), last_pos = MAX(last_pos, excluded.last_pos)`);
  }

  /** A row the append just stored (rows come in position order). */
  appended(session: string, pos: number): void {
    const e = this.batch.get(session);
    if (e === undefined) this.batch.set(session, [pos, pos]);
    else e[1] = pos;
  }

  /** Stores the batch's extents, in its transaction. */
  flush(): void {
    for (const [session, [first, last]] of this.batch) this.upsert.run(session, first, last);
    this.batch.clear();
  }

  /** Forgets an unflushed batch (its transaction rolled back). */
  discard(): void {
    this.batch.clear();
  }
}

export type SessionRow = [pos: number, body: string];

/**
 * One session's rows of the events table, through the segment index and the extents; in a store
 * no writer of this version has opened yet (a reader of an older store), through one query per
 * call, which uses the older (session, pos) index if the store has it.
 */
export class SessionRows {
  private readonly inSegment: StatementSync;
  private readonly firstInSegment: StatementSync;
  private readonly lowest: StatementSync;
  private readonly highest: StatementSync;
  private readonly extentOf: StatementSync | undefined;
  private readonly coveredThrough: () => number;
  private readonly segmented: boolean;

  constructor(db: DatabaseSync) {
    const prepared = (sql: string): StatementSync => {
      const stmt = db.prepare(sql);
      stmt.setReturnArrays(true);
      return stmt;
    };
    this.segmented = indexExists(db, SESSION_INDEX) && tableExists(db, 'session_extent');
    const where = this.segmented ? `(pos >> ${SEGMENT_BITS}) = ? AND session = ?` : 'session = ?';
    this.inSegment = prepared(`SELECT pos, body FROM events WHERE ${where} AND pos > ? AND pos <= ? ORDER BY pos LIMIT ?`);
    this.firstInSegment = prepared(`SELECT pos FROM events WHERE ${where} ORDER BY pos LIMIT 1`);
    // Two queries: SQLite answers a lone MIN or MAX of the rowid from the b-tree's edge, but
    // `SELECT MIN(pos), MAX(pos)` scans the whole table (1.2 s at 10M events).
    this.lowest = prepared('SELECT pos FROM events ORDER BY pos LIMIT 1');
    this.highest = prepared('SELECT pos FROM events ORDER BY pos DESC LIMIT 1');
    this.extentOf = this.segmented ? prepared('SELECT first_pos, last_pos FROM session_extent WHERE session = ?') : undefined;
    const through = this.segmented ? prepared("SELECT value FROM log_meta WHERE key = 'ticks_through'") : undefined;
    this.coveredThrough = () => (through?.get() as unknown as [number] | undefined)?.[0] ?? 0;
  }

  /** Position of the session's first row, or null when it has none. */
  first(session: string): number | null {
    if (!this.segmented) return (this.firstInSegment.get(session) as unknown as [number] | undefined)?.[0] ?? null;
    const extent = this.extentOf!.get(session) as unknown as [number, number] | undefined;
    if (extent !== undefined) return extent[0];
    const [, hi] = this.extent();
    for (let s = segmentOf(this.coveredThrough() + 1); s <= segmentOf(hi); s++) {
      const row = this.firstInSegment.get(s, session) as unknown as [number] | undefined;
      if (row !== undefined && row[0] > this.coveredThrough()) return row[0];
    }
    return null;
  }

  /** Up to `limit` rows of the session with `after` < pos ≤ `through`, in log order. */
  rows(session: string, after: number, through: number, limit: number): SessionRow[] {
    if (!this.segmented) return this.inSegment.all(session, after, through, limit) as unknown as SessionRow[];
    const [, hi] = this.extent();
    const covered = Math.min(this.coveredThrough(), hi);
    const extent = this.extentOf!.get(session) as unknown as [number, number] | undefined;
    // Position ranges (a, b] that may hold the session's rows: its extent within the covered rows, and every row after them.
    const ranges: [number, number][] = [];
    if (extent !== undefined) ranges.push([Math.max(after, extent[0] - 1), Math.min(through, extent[1], covered)]);
    if (covered < hi) ranges.push([Math.max(after, covered), Math.min(through, hi)]);
    const out: SessionRow[] = [];
    for (const [a, b] of ranges) {
      for (let s = segmentOf(a + 1); a < b && s <= segmentOf(b) && out.length < limit; s++) {
        for (const r of this.inSegment.all(s, session, a, b, limit - out.length) as unknown as SessionRow[]) out.push(r);
      }
    }
    return out;
  }

  /** First and last position of the log; [1, 0] (no segment) when it is empty. */
  private extent(): [number, number] {
    const lo = this.lowest.get() as unknown as [number] | undefined;
    const hi = this.highest.get() as unknown as [number] | undefined;
    return lo === undefined || hi === undefined ? [1, 0] : [lo[0], hi[0]];
  }
}
