import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { LoggedEvent, StepEvent } from '../events/step-event.ts';
import { completeThrough } from './read-session-ticked.ts';

/**
 * A session id's hash, in SQL: its last three characters' code points, weighted (powers of 31),
 * plus its length. A shard is the sessions whose hash is `shard` modulo the number of shards, so
 * numbered ids (`s-17`, `s-18`) go round the shards and random ones (UUIDs, ULIDs) spread evenly;
 * every row of a session is in the same shard. Three characters, not more: every shard computes
 * it for every row of the log, and each character costs ~0.1 µs a row (six: +0.55 s a shard at 1M
 * rows against +0.25 s, measured on the bench's log).
 */
const SESSION_HASH_SQL = `(${[0, 1, 2].map((i) => `coalesce(unicode(substr(session, ${-1 - i}, 1)), 0) * ${31 ** i}`).join(' + ')} + length(session))`;

export interface ShardReadOptions {
  /** Which shard (0 … `of` - 1) of the sessions is read; every other session's events are left to the clock ticks. */
  readonly shard: number;
  readonly of: number;
  /** Last position read (the ticks must reach it: `ticks_through` ≥ it). */
  readonly through: number;
  readonly batchSize: number;
  /** What to yield for a clock tick at `pos`: the clock's value there (see `clockTick`). */
  readonly tick: (pos: number, clockMs: number) => LoggedEvent;
  readonly parse: (body: string) => StepEvent;
}

type Row = [pos: number, body: string];
type TickRow = [pos: number, clockMs: number];

/**
 * The log from its start through `through`, for a SHARD of the sessions: their events, merged in
 * log order with the clock ticks (`ClockTicks`: where the largest event time entered a later
 * second) in place of every other session's events. What `readSessionTicked` is for one session,
 * for a set: fed this, the turn windows hold of these sessions exactly what a run over the whole
 * log holds of them (see `mergeHeldSnapshots`). At a position that is both, the session's row wins
 * (its event time is the tick's value).
 *
 * The rows are picked in SQLite (a scan in position order, each row's session hashed,
 * `SESSION_HASH_SQL`), so the other sessions' bodies are never handed to JavaScript.
 */
export async function* readShardTicked(db: DatabaseSync, o: ShardReadOptions): AsyncIterable<LoggedEvent[]> {
  const rowsOf = prepared(db, `SELECT pos, body FROM events WHERE pos > ? AND pos <= ? AND ${SESSION_HASH_SQL} % ? = ? ORDER BY pos LIMIT ?`);
  const ticksOf = prepared(db, 'SELECT pos, wm FROM clock_ticks WHERE pos > ? AND pos <= ? ORDER BY pos LIMIT ?');
  const size = o.batchSize;
  let cursor = 0;
  while (cursor < o.through) {
    const rows = rowsOf.all(cursor, o.through, o.of, o.shard, size) as unknown as Row[];
    const ticks = ticksOf.all(cursor, o.through, size) as unknown as TickRow[];
    const hi = completeThrough(o.through, size, rows, ticks);
    const merged: LoggedEvent[] = [];
    let r = 0;
    let t = 0;
    for (;;) {
      const rp = r < rows.length && rows[r]![0] <= hi ? rows[r]![0] : Number.POSITIVE_INFINITY;
      const tp = t < ticks.length && ticks[t]![0] <= hi ? ticks[t]![0] : Number.POSITIVE_INFINITY;
      if (rp === Number.POSITIVE_INFINITY && tp === Number.POSITIVE_INFINITY) break;
      if (rp <= tp) merged.push({ pos: rp, event: o.parse(rows[r++]![1]) });
      else merged.push(o.tick(tp, ticks[t]![1]));
      if (tp <= rp) t++;
    }
    for (let i = 0; i < merged.length; i += size) yield merged.slice(i, i + size);
    cursor = hi;
  }
}

function prepared(db: DatabaseSync, sql: string): StatementSync {
  const stmt = db.prepare(sql);
  stmt.setReturnArrays(true);
  return stmt;
}
