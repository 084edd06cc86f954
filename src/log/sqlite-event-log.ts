import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { parseLoggedEvent } from '../events/parse-logged-event.ts';
import type { LoggedEvent, StepEvent } from '../events/step-event.ts';
import type { Logger } from '../logger.ts';
import { ClockTicks, STORED_TIME_SQL, storedTimeMs } from './clock-ticks.ts';
import type { AppendInput, AppendOutcome, EventLog, ReadOptions } from './event-log.ts';
import { LogMeta } from './log-meta.ts';
import { LogTrimmedError, type TrimPoint } from './log-trimmed.ts';
import { inTransaction } from './open-sqlite.ts';
import { readSessionTicked, type SessionReadOptions } from './read-session-ticked.ts';
import { readShardTicked, type ShardReadOptions } from './read-shard-ticked.ts';
import { sessionTrimmed, trimLog, type TrimResult } from './trim-log.ts';
import { SessionRows, type SessionRow } from './session-rows.ts';
import { unreadableEvent } from './unreadable-event.ts';

export interface SqliteEventLogOptions {
  /**
   * Prepare for appending now (the server, at open): create the session index and the clock ticks,
   * computing them once for rows logged without them. Otherwise that happens at the first append
   * or trim; a log that is only read writes nothing.
   */
  readonly writer?: boolean;
  /** Where the one-time migration is reported. */
  readonly logger?: Logger;
}

/** What the SQLite log stores of an event: its id (the dedupe key), session, event time and raw text. */
export interface LogRow {
  readonly event: Pick<StepEvent, 'id' | 'session' | 'timeMs'>;
  readonly raw: string;
}

/**
 * `EventLog` on SQLite. One row per event; the row id is the log position; a unique index on the
 * event id is the dedupe. A batch is one transaction, so a batch is durable all at once.
 *
 * Beside the rows: an index by session (a session's events without reading the others) and the
 * clock ticks (`ClockTicks`), kept by `appendSync` in the batch's transaction, which let a replay
 * of one session skip every other session's events (`readSession`). Retention (`trimBefore`)
 * deletes the oldest events; reading before the point it reached throws `LogTrimmedError`.
 */
export class SqliteEventLog implements EventLog {
  readonly dedupesOnAppend = true;
  private readonly db: DatabaseSync;
  private readonly insert: StatementSync;
  private readonly meta: LogMeta;
  private readonly logger: Logger | undefined;
  private clock: ClockTicks | undefined;
  private trimming: Promise<TrimResult> | undefined;
  private lookup: StatementSync | undefined;
  private selectBody: StatementSync | undefined;

  constructor(db: DatabaseSync, options: SqliteEventLogOptions = {}) {
    this.db = db;
    db.exec(`CREATE TABLE IF NOT EXISTS events (
      pos INTEGER PRIMARY KEY,
      id TEXT NOT NULL UNIQUE,
      session TEXT NOT NULL,
      body TEXT NOT NULL
    )`);
    this.insert = db.prepare('INSERT INTO events (id, session, body) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING');
    this.meta = new LogMeta(db);
    this.logger = options.logger;
    if (options.writer === true) this.writerClock();
  }

  /** Synchronous append, for callers that need the positions in the same tick. */
  appendSync(batch: readonly LogRow[]): AppendOutcome[] {
    const clock = this.writerClock();
    const outcomes = inTransaction(this.db, () => {
      clock.begin();
      const out = batch.map(({ event, raw }): AppendOutcome => {
        const r = this.insert.run(event.id, event.session, raw);
        if (r.changes === 0) return { status: 'duplicate' };
        const pos = Number(r.lastInsertRowid);
        clock.appended(pos, event.timeMs, event.session);
        return { status: 'appended', pos };
      });
      clock.end();
      return out;
    });
    clock.committed();
    return outcomes;
  }

  async append(batch: readonly AppendInput[]): Promise<AppendOutcome[]> {
    return this.appendSync(batch);
  }

  async *read(options: ReadOptions = {}): AsyncIterable<LoggedEvent[]> {
    const size = options.batchSize ?? 5000;
    const session = options.session;
    const all = this.db.prepare('SELECT pos, body FROM events WHERE pos > ? ORDER BY pos LIMIT ?');
    all.setReturnArrays(true);
    const ofSession = session === undefined ? undefined : new SessionRows(this.db);
    let after = options.after ?? 0;
    for (;;) {
      this.checkTrim(after);
      const rows = ofSession === undefined ? (all.all(after, size) as unknown as SessionRow[]) : ofSession.rows(session!, after, Number.MAX_SAFE_INTEGER, size);
      if (rows.length === 0) return;
      yield rows.map(([pos, body]) => ({ pos, event: parseStored(body) }));
      after = rows[rows.length - 1]![0];
      if (rows.length < size) return;
    }
  }

  /**
   * Reads the log after `after` (default: from its start), in position order, whole for ONE
   * session only: that session's rows are parsed as `read` parses them; for every other row SQLite
   * returns only the position, the id and the event time (`json_extract` in C), and
   * `skim(pos, id, timeMs)` says what to yield in its place (replay feeds a watermark stand-in).
   * The event time is computed as `parseLoggedEvent` computes it (a number as is, a string through
   * `Date.parse`). A row SQLite's JSON functions refuse (nested deeper than SQLite allows, not
   * JSON) gets no time (NaN) instead of failing the whole read; a followed row that does not parse
   * is yielded as unreadable (dead-lettered). On a trimmed log it starts where the log does, and
   * refuses (`LogTrimmedError`) a session that lost events to retention.
   *
   * Every row of the log: the fallback of `readSession`, and its tail past the ticked rows.
   */
  async *readFollowing(
    session: string,
    {
      batchSize,
      skim,
      after: from = 0,
    }: { readonly batchSize: number; readonly skim: (pos: number, id: string, timeMs: number) => LoggedEvent; readonly after?: number },
  ): AsyncIterable<LoggedEvent[]> {
    const trim = this.refuseTrimmedSession(session);
    const stmt = this.db.prepare(`SELECT pos, id, CASE WHEN session = ?1 THEN body END, CASE WHEN session = ?1 THEN NULL ELSE ${STORED_TIME_SQL} END
      FROM events WHERE pos > ?2 ORDER BY pos LIMIT ?3`);
    stmt.setReturnArrays(true);
    let after = Math.max(from, trim?.through ?? 0);
    for (;;) {
      this.checkTrim(after);
      const rows = stmt.all(session, after, batchSize) as unknown as [number, string, string | null, string | number | null][];
      if (rows.length === 0) return;
      const batch: LoggedEvent[] = new Array(rows.length);
      for (let i = 0; i < rows.length; i++) {
        const [pos, id, body, time] = rows[i]!;
        batch[i] = body !== null ? { pos, event: parseStored(body) } : skim(pos, id, storedTimeMs(time));
      }
      yield batch;
      after = rows[rows.length - 1]![0];
      if (rows.length < batchSize) return;
    }
  }

  /**
   * One session's events through the session index, merged in log order with the clock ticks
   * (yielded through `tick`) instead of every other session's events: see `readSessionTicked`.
   * Its length follows the session, not the log. Throws `LogTrimmedError` for a session that lost
   * events to retention.
   */
  async *readSession(session: string, options: SessionReadOptions): AsyncIterable<LoggedEvent[]> {
    const trim = this.refuseTrimmedSession(session);
    yield* readSessionTicked(
      {
        db: this.db,
        ticksThrough: this.meta.get('ticks_through') ?? 0,
        trim,
        parse: parseStored,
        checkTrim: (cursor) => this.checkTrim(cursor),
        walk: (after) => this.readFollowing(session, { batchSize: options.batchSize, skim: options.skim, after }),
      },
      session,
      options,
    );
  }

  /**
   * The log through `o.through` for a shard of its sessions, other sessions' events left to the
   * clock ticks: see `readShardTicked`. Undefined when that cannot be read: the ticks do not reach
   * `o.through`, or retention deleted the start of the log.
   */
  readShard(o: Omit<ShardReadOptions, 'parse'>): AsyncIterable<LoggedEvent[]> | undefined {
    if ((this.meta.get('ticks_through') ?? 0) < o.through || this.trimPoint() !== undefined) return undefined;
    return readShardTicked(this.db, { ...o, parse: parseStored });
  }

  /**
   * Retention: deletes the oldest events, those logged before the event-time clock reached
   * `cutoffMs`, never past `maxPos` (the latest checkpoint: a restart reads the log after it). See
   * `trimLog` for the exact point, the chunking and the file size. One trim at a time: a call
   * while one runs gets that one's result.
   */
  trimBefore(cutoffMs: number, maxPos: number): Promise<TrimResult> {
    this.writerClock();
    this.trimming ??= trimLog(this.db, this.meta, { cutoffMs, maxPos }).finally(() => {
      this.trimming = undefined;
    });
    return this.trimming;
  }

  /** Last position retention deleted; 0 when the log was never trimmed. */
  trimmedThrough(): number {
    return this.meta.get('log_trimmed_through') ?? 0;
  }

  /**
   * Throws `LogTrimmedError` when retention deleted events of `session` (a replay of it would come
   * out short); else where the log was trimmed, if it was.
   */
  refuseTrimmedSession(session: string): TrimPoint | undefined {
    const trim = this.trimPoint();
    if (trim !== undefined && sessionTrimmed(this.db, session)) throw new LogTrimmedError(trim, { session });
    return trim;
  }

  private trimPoint(): TrimPoint | undefined {
    const through = this.trimmedThrough();
    return through === 0 ? undefined : { through, clockMs: this.meta.get('log_trimmed_clock_ms') ?? Number.NaN };
  }

  /** Throws when a read after `cursor` would miss events retention deleted. */
  private checkTrim(cursor: number): void {
    const trim = this.trimPoint();
    if (trim !== undefined && cursor < trim.through) throw new LogTrimmedError(trim, { after: cursor });
  }

  /** The clock ticks, with the schema created and rows logged without ticks caught up (once per log object). */
  private writerClock(): ClockTicks {
    this.clock ??= ClockTicks.open(this.db, this.meta, this.logger);
    return this.clock;
  }

  /**
   * Which of `ids` the log holds already. For sources that re-read their whole input (transcript
   * imports): they skip what is logged instead of sending it again to be dead-lettered as duplicates.
   */
  knownIds(ids: readonly string[]): Set<string> {
    this.lookup ??= this.db.prepare('SELECT 1 FROM events WHERE id = ?');
    const known = new Set<string>();
    for (const id of ids) if (this.lookup.get(id) !== undefined) known.add(id);
    return known;
  }

  /** The stored text of the event at `pos` (the raw bytes of a dead letter for it). */
  bodyAt(pos: number): string | undefined {
    this.selectBody ??= this.db.prepare('SELECT body FROM events WHERE pos = ?');
    return (this.selectBody.get(pos) as { body: string } | undefined)?.body;
  }

  headSync(): number {
    const row = this.db.prepare('SELECT COALESCE(MAX(pos), 0) AS head FROM events').get() as { head: number };
    return row.head;
  }

  async head(): Promise<number> {
    return this.headSync();
  }

  async close(): Promise<void> {
    // The database handle is shared and closed by its owner (the embedded store).
  }
}

/** A stored row that does not parse (damaged, or written by something else) must not stop a read. */
function parseStored(body: string): LoggedEvent['event'] {
  try {
    return parseLoggedEvent(body);
  } catch (error) {
    return unreadableEvent(body, error);
  }
}
