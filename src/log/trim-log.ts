import type { DatabaseSync } from 'node:sqlite';
import { tableExists, type LogMeta } from './log-meta.ts';
import { inTransaction } from './open-sqlite.ts';

/** Positions deleted per transaction, at most: ~0.15 s each at 1M events on a busy 2-core machine (random pages of the id and session indexes); the event loop is given back between them. */
export const TRIM_CHUNK_ROWS = 10_000;

export interface TrimResult {
  /** Events deleted by this call. */
  readonly deleted: number;
  /** Last position deleted so far, by this call or an earlier one (0: never trimmed). */
  readonly through: number;
}

/**
 * Deletes the events at positions ≤ P, with their clock ticks, where P is the last tick whose
 * clock is before `cutoffMs` (so every deleted event is older than the cutoff), capped at `maxPos`
 * (the caller's checkpoint: the log after it must stay) and below the last row (positions are row
 * ids: an emptied table would hand out positions from 1 again).
 *
 * Records what it did in `log_meta` with each chunk (`log_trimmed_through`, and the clock there,
 * which the next tick needs when every tick before it is gone) and the sessions that lost events
 * in `trimmed_sessions`, so a replay of one of them is refused instead of coming out short.
 * Deletes `TRIM_CHUNK_ROWS` rows per transaction and yields to the event loop between chunks;
 * stops early, with what it did, when the database is closed meanwhile.
 *
 * SQLite keeps the file's size (`auto_vacuum` is off): freed pages go to its free list and new
 * appends reuse them, so the file stops growing rather than shrinking.
 */
export async function trimLog(db: DatabaseSync, meta: LogMeta, { cutoffMs, maxPos }: { cutoffMs: number; maxPos: number }): Promise<TrimResult> {
  let through = meta.get('log_trimmed_through') ?? 0;
  const head = (db.prepare('SELECT COALESCE(MAX(pos), 0) AS head FROM events').get() as { head: number }).head;
  const last = db.prepare('SELECT pos FROM clock_ticks WHERE wm < ? ORDER BY wm DESC LIMIT 1').get(cutoffMs) as { pos: number } | undefined;
  const target = Math.min(last?.pos ?? 0, Math.floor(maxPos), head - 1);
  let deleted = 0;
  if (target <= through) return { deleted, through };
  db.exec('CREATE TABLE IF NOT EXISTS trimmed_sessions (session TEXT PRIMARY KEY) WITHOUT ROWID');
  const clockAt = db.prepare('SELECT wm FROM clock_ticks WHERE pos <= ? ORDER BY pos DESC LIMIT 1');
  const sessions = db.prepare('INSERT OR IGNORE INTO trimmed_sessions (session) SELECT DISTINCT session FROM events WHERE pos > ? AND pos <= ?');
  const rows = db.prepare('DELETE FROM events WHERE pos > ? AND pos <= ?');
  const ticks = db.prepare('DELETE FROM clock_ticks WHERE pos <= ?');
  while (through < target && db.isOpen) {
    const lo = through;
    // A chunk of positions, not of rows: after an earlier trim, or with gaps, it may hold fewer.
    const hi = Math.min(target, lo + TRIM_CHUNK_ROWS);
    deleted += inTransaction(db, () => {
      const clock = clockAt.get(hi) as { wm: number } | undefined;
      sessions.run(lo, hi);
      const n = Number(rows.run(lo, hi).changes);
      ticks.run(hi);
      meta.set('log_trimmed_through', hi);
      if (clock !== undefined) meta.set('log_trimmed_clock_ms', clock.wm);
      return n;
    });
    through = hi;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { deleted, through };
}

/** Whether retention deleted events of `session` (readers: false when nothing was ever trimmed). */
export function sessionTrimmed(db: DatabaseSync, session: string): boolean {
  return tableExists(db, 'trimmed_sessions') && db.prepare('SELECT 1 FROM trimmed_sessions WHERE session = ?').get(session) !== undefined;
}
