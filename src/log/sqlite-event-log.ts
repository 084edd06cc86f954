import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { parseLoggedEvent } from '../events/parse-logged-event.ts';
import type { LoggedEvent } from '../events/step-event.ts';
import type { AppendInput, AppendOutcome, EventLog, ReadOptions } from './event-log.ts';
import { inTransaction } from './open-sqlite.ts';
import { unreadableEvent } from './unreadable-event.ts';

/**
 * `EventLog` on SQLite. One row per event; the row id is the log position; a unique index on the
 * event id is the dedupe. A batch is one transaction, so a batch is durable all at once.
 */
export class SqliteEventLog implements EventLog {
  readonly dedupesOnAppend = true;
  private readonly db: DatabaseSync;
  private readonly insert: StatementSync;
  private lookup: StatementSync | undefined;
  private selectBody: StatementSync | undefined;

  constructor(db: DatabaseSync) {
    this.db = db;
    db.exec(`CREATE TABLE IF NOT EXISTS events (
      pos INTEGER PRIMARY KEY,
      id TEXT NOT NULL UNIQUE,
      session TEXT NOT NULL,
      body TEXT NOT NULL
    )`);
    this.insert = db.prepare('INSERT INTO events (id, session, body) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING');
  }

  /** Synchronous append, for callers that need the positions in the same tick. */
  appendSync(batch: readonly AppendInput[]): AppendOutcome[] {
    return inTransaction(this.db, () =>
      batch.map(({ event, raw }): AppendOutcome => {
        const r = this.insert.run(event.id, event.session, raw);
        return r.changes === 0 ? { status: 'duplicate' } : { status: 'appended', pos: Number(r.lastInsertRowid) };
      }),
    );
  }

  async append(batch: readonly AppendInput[]): Promise<AppendOutcome[]> {
    return this.appendSync(batch);
  }

  async *read(options: ReadOptions = {}): AsyncIterable<LoggedEvent[]> {
    const size = options.batchSize ?? 5000;
    const stmt =
      options.session === undefined
        ? this.db.prepare('SELECT pos, body FROM events WHERE pos > ? ORDER BY pos LIMIT ?')
        : this.db.prepare('SELECT pos, body FROM events WHERE pos > ? AND session = ? ORDER BY pos LIMIT ?');
    let after = options.after ?? 0;
    for (;;) {
      const rows = (options.session === undefined ? stmt.all(after, size) : stmt.all(after, options.session, size)) as { pos: number; body: string }[];
      if (rows.length === 0) return;
      yield rows.map((r) => ({ pos: r.pos, event: parseStored(r.body) }));
      after = rows[rows.length - 1]!.pos;
      if (rows.length < size) return;
    }
  }

  /**
   * Reads the whole log, in position order, whole for ONE session only: that session's rows are
   * parsed as `read` parses them; for every other row SQLite returns only the position, the id and
   * the event time (`json_extract` in C), and `skim(pos, id, timeMs)` says what to yield in its
   * place (replay feeds a watermark stand-in). The event time is computed as `parseLoggedEvent`
   * computes it (a number as is, a string through `Date.parse`). Skipping the other sessions'
   * JSON.parse roughly doubles the speed of a one-session replay. A row SQLite's JSON functions
   * refuse (nested deeper than SQLite allows, not JSON) gets no time (NaN) instead of failing the
   * whole read; a followed row that does not parse is yielded as unreadable (dead-lettered).
   */
  async *readFollowing(
    session: string,
    { batchSize, skim }: { readonly batchSize: number; readonly skim: (pos: number, id: string, timeMs: number) => LoggedEvent },
  ): AsyncIterable<LoggedEvent[]> {
    const stmt =
      this.db.prepare(`SELECT pos, id, CASE WHEN session = ?1 THEN body END, CASE WHEN session = ?1 OR NOT json_valid(body) THEN NULL ELSE json_extract(body, '$.time') END
      FROM events WHERE pos > ?2 ORDER BY pos LIMIT ?3`);
    stmt.setReturnArrays(true);
    let after = 0;
    for (;;) {
      const rows = stmt.all(session, after, batchSize) as unknown as [number, string, string | null, string | number | null][];
      if (rows.length === 0) return;
      const batch: LoggedEvent[] = new Array(rows.length);
      for (let i = 0; i < rows.length; i++) {
        const [pos, id, body, time] = rows[i]!;
        batch[i] = body !== null ? { pos, event: parseStored(body) } : skim(pos, id, typeof time === 'number' ? time : Date.parse(time ?? ''));
      }
      yield batch;
      after = rows[rows.length - 1]![0];
      if (rows.length < batchSize) return;
    }
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
