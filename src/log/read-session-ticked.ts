import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { LoggedEvent, StepEvent } from '../events/step-event.ts';
import { STORED_TIME_SQL, storedTimeMs, TICK_MS } from './clock-ticks.ts';
import type { TrimPoint } from './log-trimmed.ts';
import { SessionRows } from './session-rows.ts';

/** Where a read may stop, as replay stops (`ReplayStop`): before the first event later than a time, or right after an event. */
export type ReadStop = { readonly kind: 'time'; readonly ms: number } | { readonly kind: 'event'; readonly id: string };

export interface SessionReadOptions {
  readonly batchSize: number;
  /** The turn windows' sweep interval; a multiple of `TICK_MS` (the ticks carry every sweep only then). */
  readonly sweepMs: number;
  /** What to yield for a clock tick: the clock's value at that position. */
  readonly tick: (pos: number, clockMs: number) => LoggedEvent;
  /** What to yield for another session's event that must be seen: the stop point, and every row after the ticks. */
  readonly skim: (pos: number, id: string, timeMs: number) => LoggedEvent;
  /** Yield the event a replay stops at, when it is another session's (it would otherwise not be read). */
  readonly stop?: ReadStop;
}

/** The log as the read finds it; `walk` reads on (every row, others skimmed) after the last ticked position. */
export interface TickedLog {
  readonly db: DatabaseSync;
  readonly ticksThrough: number;
  readonly trim: TrimPoint | undefined;
  readonly parse: (body: string) => StepEvent;
  /** Throws `LogTrimmedError` when retention has deleted positions after `cursor` (a trim while reading). */
  readonly checkTrim: (cursor: number) => void;
  readonly walk: (after: number) => AsyncIterable<LoggedEvent[]>;
}

type TickRow = [pos: number, clockMs: number];

/**
 * One session's events through the session index, merged in log order with the clock ticks (the
 * positions where the event-time clock entered a later second, see `ClockTicks`) instead of
 * every other session's events: the read is as long as the session and its span of event time,
 * not the log.
 *
 * It starts at the tick that opened the sweep interval of the clock just before the session's
 * first event (so a replay fed from there sweeps where the live run swept, with the same sweep
 * clock, by the time the session's first event comes), and ends at the
 * end of the log; rows after `ticks_through` (logged by a writer that kept no ticks) are read
 * the old way, every row (`walk`). At one position a session row wins over a tick (its event time
 * is the tick's value). Batches hold at most `batchSize` events.
 */
export async function* readSessionTicked(log: TickedLog, session: string, o: SessionReadOptions): AsyncIterable<LoggedEvent[]> {
  const { db, ticksThrough } = log;
  const size = o.batchSize;
  const sessionRows = new SessionRows(db);
  const first = sessionRows.first(session);
  let stop = o.stop === undefined ? undefined : stopEvent(log, session, o.stop, o.skim);
  if (first === null) {
    // No event of the session: only the stop point can matter (the replay reports both).
    if (stop !== undefined) yield [stop];
    return;
  }
  const start = startOf(log, Math.min(first, ticksThrough + 1), o.sweepMs);
  let cursor = Math.min(start.cursor, stop === undefined ? Number.POSITIVE_INFINITY : stop.pos - 1);
  if (start.seed !== undefined && start.seed.pos <= cursor) yield [o.tick(start.seed.pos, start.seed.clockMs)];
  const ticksOf = prepared(db, 'SELECT pos, wm FROM clock_ticks WHERE pos > ? AND pos <= ? ORDER BY pos LIMIT ?');
  while (cursor < ticksThrough) {
    log.checkTrim(cursor);
    const rows = sessionRows.rows(session, cursor, ticksThrough, size);
    const tickRows = ticksOf.all(cursor, ticksThrough, size) as unknown as TickRow[];
    const hi = completeThrough(ticksThrough, size, rows, tickRows);
    const merged: LoggedEvent[] = [];
    let r = 0;
    let t = 0;
    for (;;) {
      const rp = r < rows.length && rows[r]![0] <= hi ? rows[r]![0] : Number.POSITIVE_INFINITY;
      const tp = t < tickRows.length && tickRows[t]![0] <= hi ? tickRows[t]![0] : Number.POSITIVE_INFINITY;
      const sp = stop !== undefined && stop.pos > cursor && stop.pos <= hi ? stop.pos : Number.POSITIVE_INFINITY;
      const pos = Math.min(rp, tp, sp);
      if (pos === Number.POSITIVE_INFINITY) break;
      if (rp === pos) merged.push({ pos, event: log.parse(rows[r]![1]) });
      else if (sp === pos) merged.push(stop!);
      else merged.push(o.tick(pos, tickRows[t]![1]));
      if (rp === pos) r++;
      if (tp === pos) t++;
      if (sp === pos) stop = undefined;
    }
    for (let i = 0; i < merged.length; i += size) yield merged.slice(i, i + size);
    cursor = hi;
  }
  yield* log.walk(Math.max(cursor, ticksThrough));
}

/**
 * Where the ticked read starts for a session whose first row is at `from`: after `cursor`, from the
 * first tick of the sweep interval holding the clock just before `from` (a sweep interval holds at
 * most `sweepMs / TICK_MS` ticks). When retention deleted every tick before `from`, the clock it
 * recorded is the `seed`, a tick of its own at the trim point.
 */
function startOf(log: TickedLog, from: number, sweepMs: number): { cursor: number; seed?: { pos: number; clockMs: number } } {
  const before = prepared(log.db, 'SELECT pos, wm FROM clock_ticks WHERE pos < ? ORDER BY pos DESC LIMIT ?').all(
    from,
    Math.ceil(sweepMs / TICK_MS) + 1,
  ) as unknown as TickRow[];
  if (before.length === 0) {
    return log.trim === undefined ? { cursor: 0 } : { cursor: log.trim.through, seed: { pos: log.trim.through, clockMs: log.trim.clockMs } };
  }
  const interval = Math.floor(before[0]![1] / sweepMs);
  let opening = before[0]!;
  for (const tick of before) if (Math.floor(tick[1] / sweepMs) === interval) opening = tick;
  return { cursor: opening[0] - 1 };
}

/**
 * The event a replay's stop point falls on, as a stand-in, when it is another session's row within
 * the ticks (rows after them are all read anyway); undefined otherwise (the session's own event
 * stops the replay, or there is no such event).
 *
 * For a time, the first event later than it: it is a new largest time, so it lies after the last
 * tick at or before the time and no later than the first tick after it; only the rows between
 * those two ticks (one second of the clock) are scanned.
 */
function stopEvent(log: TickedLog, session: string, stop: ReadStop, skim: SessionReadOptions['skim']): LoggedEvent | undefined {
  const { db, ticksThrough } = log;
  if (stop.kind === 'event') {
    const row = db.prepare(`SELECT pos, session, ${STORED_TIME_SQL} AS time FROM events WHERE id = ?`).get(stop.id) as
      | { pos: number; session: string; time: string | number | null }
      | undefined;
    if (row === undefined || row.session === session || row.pos > ticksThrough) return undefined;
    return skim(row.pos, stop.id, storedTimeMs(row.time));
  }
  const lo = db.prepare('SELECT pos FROM clock_ticks WHERE wm <= ? ORDER BY wm DESC LIMIT 1').get(stop.ms) as { pos: number } | undefined;
  const hi = db.prepare('SELECT pos FROM clock_ticks WHERE wm > ? ORDER BY wm LIMIT 1').get(stop.ms) as { pos: number } | undefined;
  const candidates = db
    .prepare(
      `SELECT pos, id, session, time FROM (SELECT pos, id, session, ${STORED_TIME_SQL} AS time FROM events WHERE pos > ? AND pos <= ?)
       WHERE typeof(time) = 'text' OR time > ? ORDER BY pos`,
    )
    .iterate(lo?.pos ?? log.trim?.through ?? 0, Math.min(hi?.pos ?? ticksThrough, ticksThrough), stop.ms) as Iterable<{
    pos: number;
    id: string;
    session: string;
    time: string | number;
  }>;
  for (const row of candidates) {
    const timeMs = storedTimeMs(row.time);
    if (!(timeMs > stop.ms)) continue;
    return row.session === session ? undefined : skim(row.pos, row.id, timeMs);
  }
  return undefined;
}

/**
 * How far lists read after the same cursor (each at most `size` rows, position first, up to
 * `limit`) are all complete: past the last row of a full list, another may hold rows that list's
 * next read would come before.
 */
export function completeThrough(limit: number, size: number, ...lists: readonly (readonly (readonly [number, ...unknown[]])[])[]): number {
  let hi = limit;
  for (const list of lists) if (list.length === size) hi = Math.min(hi, list[list.length - 1]![0]);
  return hi;
}

function prepared(db: DatabaseSync, sql: string): StatementSync {
  const stmt = db.prepare(sql);
  stmt.setReturnArrays(true);
  return stmt;
}
