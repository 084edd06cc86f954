import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { Logger } from '../logger.ts';
import type { LogMeta } from './log-meta.ts';
import { inTransaction } from './open-sqlite.ts';
import { createSessionIndex, SessionExtents } from './session-rows.ts';
import { isoEpochMs } from '../events/iso-epoch-ms.ts';

/** The clock's grain: a tick is where the largest event time so far enters a later second. */
export const TICK_MS = 1000;

/** Rows read per transaction when ticks are computed for rows logged without them (the one-time migration). */
const BACKFILL_CHUNK = 100_000;

/**
 * The event time of a stored row as SQLite's `json_extract(body, '$.time')` returns it, made what
 * `parseLoggedEvent` makes of it: a number as is, a string as `Date.parse` reads it; no time (a row
 * SQLite's JSON functions refuse) is NaN.
 */
export function storedTimeMs(time: string | number | null | undefined): number {
  return typeof time === 'number' ? time : isoEpochMs(time ?? '');
}

/** SQL for a row's event time, for `storedTimeMs`: NULL for a body SQLite cannot read as JSON (instead of failing the query). */
export const STORED_TIME_SQL = "CASE WHEN json_valid(body) THEN json_extract(body, '$.time') END";

/** Whether an event at `t` moves a clock standing at `clockMs` into a later second (non-finite times never do). */
export function entersLaterSecond(t: number, clockMs: number): boolean {
  return Number.isFinite(t) && Math.floor(t / TICK_MS) > Math.floor(clockMs / TICK_MS);
}

/** Creates what the clock and the session read need (writers only): the session index and extents, the tick table and its time index. */
export function createTickSchema(db: DatabaseSync, ticksThrough: number): { indexMs: number | undefined } {
  const indexMs = createSessionIndex(db, ticksThrough);
  db.exec(`CREATE TABLE IF NOT EXISTS clock_ticks (pos INTEGER PRIMARY KEY, wm REAL NOT NULL);
    CREATE INDEX IF NOT EXISTS clock_ticks_by_wm ON clock_ticks (wm);`);
  return { indexMs };
}

/**
 * The writer's side of the clock ticks: where, in log order, the largest event time so far (the
 * watermark the turn windows run on) entered a later second, with its value there. A replay of
 * one session feeds these ticks in place of every other session's events (see
 * `watermarkStandIn`): the windows sweep only where the clock's second changes, so the ticks carry
 * every sweep with its exact clock.
 *
 * Maintained by the log's append, in the append's transaction (`begin`, `appended` per new row,
 * `end`, then `committed` once the transaction is durable), at the cost of one insert per second
 * of event time. `ticks_through` in `log_meta` says how far they go: a store logged before ticks
 * existed (or by an older writer) is caught up once, when a writer opens it (`open`).
 */
export class ClockTicks {
  private readonly db: DatabaseSync;
  private readonly meta: LogMeta;
  private readonly insert: StatementSync;
  private readonly unticked: StatementSync;
  private clockMs: number;
  private through: number;
  private pendingClockMs: number;
  private pendingThrough: number;
  /** The sessions' first and last rows, kept with the ticks (both cover the rows through `ticks_through`). */
  private readonly extents: SessionExtents;

  private constructor(db: DatabaseSync, meta: LogMeta) {
    this.db = db;
    this.meta = meta;
    this.insert = db.prepare('INSERT INTO clock_ticks (pos, wm) VALUES (?, ?)');
    this.unticked = db.prepare(`SELECT pos, ${STORED_TIME_SQL}, session FROM events WHERE pos > ? ORDER BY pos LIMIT ?`);
    this.extents = new SessionExtents(db);
    this.unticked.setReturnArrays(true);
    this.through = meta.get('ticks_through') ?? 0;
    this.clockMs = lastClock(db, meta);
    this.pendingClockMs = this.clockMs;
    this.pendingThrough = this.through;
  }

  /**
   * Creates the schema when missing and computes the ticks of rows logged without them, in
   * transactions of `BACKFILL_CHUNK` rows (a one-time migration: about a second per million rows;
   * logged once when it happens).
   */
  static open(db: DatabaseSync, meta: LogMeta, logger?: Logger): ClockTicks {
    const { indexMs } = inTransaction(db, () => {
      meta.create();
      return createTickSchema(db, meta.get('ticks_through') ?? 0);
    });
    const clock = new ClockTicks(db, meta);
    const started = performance.now();
    const from = clock.through;
    let added = 0;
    for (;;) {
      const chunk = inTransaction(db, () => clock.backfill(BACKFILL_CHUNK));
      if (chunk.rows === 0) break;
      clock.committed();
      added += chunk.ticks;
    }
    if (clock.through > from) {
      logger?.info('event log: clock ticks computed for the rows logged without them (one-time migration)', {
        rows: clock.through - from,
        ticks: added,
        backfillMs: Math.round(performance.now() - started),
        ...(indexMs === undefined ? {} : { sessionIndexMs: Math.round(indexMs) }),
      });
    } else if (indexMs !== undefined && clock.through > 0) {
      logger?.info('event log: session index and extents built (one-time migration)', { rows: clock.through, sessionIndexMs: Math.round(indexMs) });
    }
    return clock;
  }

  /** Starts an append: another writer on the same file may have appended since (then the clock is reloaded and any gap filled). */
  begin(): void {
    const stored = this.meta.get('ticks_through') ?? 0;
    const moved = stored !== this.through;
    if (moved) {
      this.through = stored;
      this.clockMs = lastClock(this.db, this.meta);
    }
    this.pendingClockMs = this.clockMs;
    this.pendingThrough = this.through;
    this.extents.discard();
    if (moved) while (this.backfill(BACKFILL_CHUNK).rows > 0);
  }

  /** A row the append just stored, with its event time and session. */
  appended(pos: number, timeMs: number, session: string): void {
    this.extents.appended(session, pos);
    if (!Number.isFinite(timeMs)) {
      this.pendingThrough = pos;
      return;
    }
    if (entersLaterSecond(timeMs, this.pendingClockMs)) this.insert.run(pos, timeMs);
    if (timeMs > this.pendingClockMs) this.pendingClockMs = timeMs;
    this.pendingThrough = pos;
  }

  /** Ends an append, in its transaction. */
  end(): void {
    this.extents.flush();
    if (this.pendingThrough !== this.through) this.meta.set('ticks_through', this.pendingThrough);
  }

  /** The transaction committed: what it did is now the clock. (After a rollback `begin` starts again from the last commit.) */
  committed(): void {
    this.clockMs = this.pendingClockMs;
    this.through = this.pendingThrough;
  }

  /** Ticks for up to `limit` rows after `ticks_through` (rows logged without ticks), in the caller's transaction; `end` included. */
  private backfill(limit: number): { rows: number; ticks: number } {
    const rows = this.unticked.all(this.pendingThrough, limit) as unknown as [number, string | number | null, string][];
    let added = 0;
    for (const [pos, time, session] of rows) {
      const t = storedTimeMs(time);
      if (entersLaterSecond(t, this.pendingClockMs)) added++;
      this.appended(pos, t, session);
    }
    if (rows.length > 0) this.end();
    return { rows: rows.length, ticks: added };
  }
}

/**
 * The clock as the stored ticks leave it: the last tick's value (only its second matters for the
 * next tick), or the clock retention recorded when it deleted every tick.
 */
function lastClock(db: DatabaseSync, meta: LogMeta): number {
  const row = db.prepare('SELECT wm FROM clock_ticks ORDER BY pos DESC LIMIT 1').get() as { wm: number } | undefined;
  return Math.max(row?.wm ?? Number.NEGATIVE_INFINITY, meta.get('log_trimmed_clock_ms') ?? Number.NEGATIVE_INFINITY);
}
