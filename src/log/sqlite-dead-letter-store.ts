import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { DeadLetter, RejectReason } from '../events/reject-reason.ts';
import { DEFAULT_DEAD_LETTER_RETENTION, type DeadLetterRetention, type DeadLetterStore } from './dead-letter-store.ts';
import { inTransaction } from './open-sqlite.ts';

interface Row {
  at: number;
  reason: RejectReason;
  source: string;
  session: string | null;
  event_id: string | null;
  message: string;
  raw: string;
  raw_base64: string | null;
  size: number | null;
}

/** Columns added after the first release, with their types: added in place to older databases. */
const ADDED_COLUMNS = { raw_base64: 'TEXT', size: 'INTEGER' } as const;
/** The age bound is checked at most this often (it scans the table). */
const AGE_CHECK_EVERY_MILLIS = 60_000;

const bytesOf = (l: DeadLetter): number => Buffer.byteLength(l.raw, 'utf8') + (l.rawBase64?.length ?? 0) + Buffer.byteLength(l.message, 'utf8');

/**
 * `DeadLetterStore` on SQLite: one row per rejected input, raw bytes kept as received (invalid
 * UTF-8 as base64 beside a readable copy). Bounded by `retention`: after each put, in the same
 * transaction, the oldest rows go until the source, the total row count and the total bytes are
 * within their caps, and rows older than the age cap (before the newest letter's arrival time) go, checked once a minute. `put` resolves to
 * the number of rows trimmed. Counts and bytes are kept in memory from one scan at open: the data
 * dir lock makes this process the only writer.
 */
export class SqliteDeadLetterStore implements DeadLetterStore {
  private readonly db: DatabaseSync;
  private readonly insert: StatementSync;
  private readonly retention: DeadLetterRetention;
  /** The newest arrival time written: ages are measured from it (the store's own clock, so replays and tests with fixed times stay deterministic). */
  private newestAt = Number.NEGATIVE_INFINITY;
  private totals: { rows: number; bytes: number; bySource: Map<string, number> } | undefined;
  private lastAgeCheck = Number.NEGATIVE_INFINITY;

  constructor(db: DatabaseSync, { retention = DEFAULT_DEAD_LETTER_RETENTION }: { retention?: DeadLetterRetention } = {}) {
    this.db = db;
    this.retention = retention;
    db.exec(`CREATE TABLE IF NOT EXISTS dead_letters (
      n INTEGER PRIMARY KEY,
      at INTEGER NOT NULL,
      reason TEXT NOT NULL,
      source TEXT NOT NULL,
      session TEXT,
      event_id TEXT,
      message TEXT NOT NULL,
      raw TEXT NOT NULL
    )`);
    const have = new Set((db.prepare('PRAGMA table_info(dead_letters)').all() as { name: string }[]).map((c) => c.name));
    for (const [name, type] of Object.entries(ADDED_COLUMNS)) if (!have.has(name)) db.exec(`ALTER TABLE dead_letters ADD COLUMN ${name} ${type}`);
    this.insert = db.prepare(
      'INSERT INTO dead_letters (at, reason, source, session, event_id, message, raw, raw_base64, size) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
  }

  /** Row and byte totals, scanned once on the first write (readers never pay for it). */
  private loadTotals(): { rows: number; bytes: number; bySource: Map<string, number> } {
    if (this.totals !== undefined) return this.totals;
    const rows = this.db
      .prepare(
        'SELECT source, COUNT(*) AS n, COALESCE(SUM(length(CAST(raw AS BLOB)) + COALESCE(length(raw_base64), 0) + length(CAST(message AS BLOB))), 0) AS bytes FROM dead_letters GROUP BY source',
      )
      .all() as { source: string; n: number; bytes: number }[];
    this.totals = { rows: 0, bytes: 0, bySource: new Map() };
    for (const r of rows) {
      this.totals.rows += r.n;
      this.totals.bytes += r.bytes;
      this.totals.bySource.set(r.source, r.n);
    }
    return this.totals;
  }

  /** Deletes the oldest `count` rows (of `source`, if given), keeping the totals right. */
  private deleteOldest(count: number, source?: string): number {
    if (count <= 0) return 0;
    const gone = (
      source === undefined
        ? this.db
            .prepare(
              'DELETE FROM dead_letters WHERE n IN (SELECT n FROM dead_letters ORDER BY n LIMIT ?) RETURNING source, length(CAST(raw AS BLOB)) + COALESCE(length(raw_base64), 0) + length(CAST(message AS BLOB)) AS bytes',
            )
            .all(count)
        : this.db
            .prepare(
              'DELETE FROM dead_letters WHERE n IN (SELECT n FROM dead_letters WHERE source = ? ORDER BY n LIMIT ?) RETURNING source, length(CAST(raw AS BLOB)) + COALESCE(length(raw_base64), 0) + length(CAST(message AS BLOB)) AS bytes',
            )
            .all(source, count)
    ) as { source: string; bytes: number }[];
    this.forget(gone);
    return gone.length;
  }

  private forget(gone: readonly { source: string; bytes: number }[]): void {
    const t = this.loadTotals();
    for (const g of gone) {
      t.rows--;
      t.bytes -= g.bytes;
      t.bySource.set(g.source, (t.bySource.get(g.source) ?? 1) - 1);
    }
  }

  private trim(): number {
    const r = this.retention;
    const t = this.loadTotals();
    let trimmed = 0;
    const now = this.newestAt;
    if (now - this.lastAgeCheck >= AGE_CHECK_EVERY_MILLIS) {
      this.lastAgeCheck = now;
      const gone = this.db
        .prepare(
          'DELETE FROM dead_letters WHERE at < ? RETURNING source, length(CAST(raw AS BLOB)) + COALESCE(length(raw_base64), 0) + length(CAST(message AS BLOB)) AS bytes',
        )
        .all(now - r.maxAgeMillis) as { source: string; bytes: number }[];
      this.forget(gone);
      trimmed += gone.length;
    }
    for (const [source, n] of t.bySource) if (n > r.maxRowsPerSource) trimmed += this.deleteOldest(n - r.maxRowsPerSource, source);
    if (t.rows > r.maxRows) trimmed += this.deleteOldest(t.rows - r.maxRows);
    // Bytes: delete in steps sized from the average row, until under the cap.
    while (t.bytes > r.maxBytes && t.rows > 0) trimmed += this.deleteOldest(Math.max(1, Math.ceil((t.bytes - r.maxBytes) / Math.max(1, t.bytes / t.rows))));
    return trimmed;
  }

  putSync(letters: readonly DeadLetter[]): number {
    if (letters.length === 0) return 0;
    return inTransaction(this.db, () => {
      const t = this.loadTotals();
      for (const l of letters) {
        this.insert.run(l.at, l.reason, l.source, l.session ?? null, l.eventId ?? null, l.message, l.raw, l.rawBase64 ?? null, l.size ?? null);
        t.rows++;
        t.bytes += bytesOf(l);
        t.bySource.set(l.source, (t.bySource.get(l.source) ?? 0) + 1);
        if (l.at > this.newestAt) this.newestAt = l.at;
      }
      return this.trim();
    });
  }

  async put(letters: readonly DeadLetter[]): Promise<number> {
    try {
      return this.putSync(letters);
    } catch (error) {
      this.totals = undefined; // rolled back: rescan on the next write
      throw error;
    }
  }

  async list(options: { reason?: RejectReason; limit?: number } = {}): Promise<DeadLetter[]> {
    const limit = options.limit ?? 100;
    const rows = (options.reason === undefined
      ? this.db.prepare('SELECT * FROM dead_letters ORDER BY n LIMIT ?').all(limit)
      : this.db.prepare('SELECT * FROM dead_letters WHERE reason = ? ORDER BY n LIMIT ?').all(options.reason, limit)) as unknown as Row[];
    return rows.map((r) => ({
      at: r.at,
      reason: r.reason,
      source: r.source,
      message: r.message,
      raw: r.raw,
      ...(r.raw_base64 === null ? {} : { rawBase64: r.raw_base64 }),
      ...(r.size === null ? {} : { size: r.size }),
      ...(r.session === null ? {} : { session: r.session }),
      ...(r.event_id === null ? {} : { eventId: r.event_id }),
    }));
  }

  async countByReason(): Promise<Partial<Record<RejectReason, number>>> {
    const rows = this.db.prepare('SELECT reason, COUNT(*) AS n FROM dead_letters GROUP BY reason').all() as { reason: RejectReason; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.reason, r.n]));
  }
}
