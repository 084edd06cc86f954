import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { JsonValue } from '../model/json-value.ts';
import type { SessionTotals } from '../model/session-totals.ts';
import { winsOver, type StateEntry } from '../model/state-write.ts';
import type { TotalsRecord } from './kafka-state-records.ts';

interface EntryRow {
  readonly deleted: number;
  readonly value: string | null;
  readonly t: number;
  readonly s: number;
  readonly i: string;
}

/**
 * The session state and totals of the partitions a pipeline's Kafka view holds, in a private
 * temporary SQLite database (on disk, deleted when closed), like `TurnIndex` for turns: every
 * session a partition ever had stays in the state topic, and holding them all in memory made a
 * Kafka process grow with its sessions. Same rules as the in-memory view: last write wins by
 * version, totals by the position that wrote them.
 */
export class SessionIndex {
  private readonly db: DatabaseSync;
  private readonly getEntry: StatementSync;
  private readonly putEntryRow: StatementSync;
  private readonly listEntries: StatementSync;
  private readonly getTotals: StatementSync;
  private readonly putTotalsRow: StatementSync;
  private readonly recentTotals: StatementSync;
  private readonly countRows: StatementSync;
  private readonly dropEntries: StatementSync;
  private readonly dropTotals: StatementSync;
  private inBatch = false;
  /**
   * Within a batch, the latest entry per key and totals per session applied, written at its end: a
   * partition re-read brings every superseded totals record the cleaner has not compacted yet
   * (one per commit that touched the session), and one SQLite write each made a takeover's re-read
   * ~2× slower.
   */
  private readonly pendingEntries = new Map<string, { readonly part: number; readonly session: string; readonly key: string; readonly entry: StateEntry }>();
  private readonly pendingTotals = new Map<string, { readonly part: number; readonly rec: TotalsRecord }>();

  constructor() {
    this.db = new DatabaseSync('');
    this.db.exec(`
      PRAGMA journal_mode = OFF;
      PRAGMA synchronous = OFF;
      PRAGMA cache_size = -16384;
      CREATE TABLE entries (
        session TEXT NOT NULL, key TEXT NOT NULL, part INTEGER NOT NULL, deleted INTEGER NOT NULL,
        value TEXT, t REAL NOT NULL, s REAL NOT NULL, i TEXT NOT NULL, PRIMARY KEY (session, key)
      ) WITHOUT ROWID;
      CREATE TABLE totals (
        session TEXT PRIMARY KEY, part INTEGER NOT NULL, p INTEGER NOT NULL, last_ms REAL NOT NULL, totals TEXT NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX totals_recent ON totals (part, last_ms);
    `);
    this.getEntry = this.db.prepare('SELECT deleted, value, t, s, i FROM entries WHERE session = ? AND key = ?');
    this.putEntryRow = this.db.prepare('INSERT OR REPLACE INTO entries (session, key, part, deleted, value, t, s, i) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    this.listEntries = this.db.prepare('SELECT key, deleted, value, t, s, i FROM entries WHERE session = ?');
    this.getTotals = this.db.prepare('SELECT p, totals FROM totals WHERE session = ?');
    this.putTotalsRow = this.db.prepare('INSERT OR REPLACE INTO totals (session, part, p, last_ms, totals) VALUES (?, ?, ?, ?, ?)');
    this.recentTotals = this.db.prepare('SELECT session, totals FROM totals WHERE part = ? ORDER BY last_ms DESC LIMIT ?');
    this.countRows = this.db.prepare(
      'SELECT (SELECT COUNT(*) FROM entries WHERE part = ?1) AS keys, (SELECT COUNT(*) FROM (SELECT session FROM entries WHERE part = ?1 UNION SELECT session FROM totals WHERE part = ?1)) AS sessions',
    );
    this.dropEntries = this.db.prepare('DELETE FROM entries WHERE part = ?');
    this.dropTotals = this.db.prepare('DELETE FROM totals WHERE part = ?');
  }

  entry(session: string, key: string): StateEntry | undefined {
    this.flush();
    const row = this.getEntry.get(session, key) as EntryRow | undefined;
    return row === undefined ? undefined : entryOf(row);
  }

  /** A session's keys with their entries, in no particular order. */
  entries(session: string): [string, StateEntry][] {
    this.flush();
    return (this.listEntries.all(session) as unknown as (EntryRow & { key: string })[]).map((row) => [row.key, entryOf(row)]);
  }

  /** Keeps `entry` if it wins over the one held (LWW). Returns whether it was kept. */
  putEntry(part: number, session: string, key: string, entry: StateEntry): boolean {
    const k = `${session}\u0000${key}`;
    const pending = this.pendingEntries.get(k);
    if (pending !== undefined) {
      if (!winsOver(entry.version, pending.entry.version)) return false;
    } else {
      const held = this.getEntry.get(session, key) as EntryRow | undefined;
      if (held !== undefined && !winsOver(entry.version, { time: held.t, seq: held.s, id: held.i })) return false;
    }
    if (this.inBatch) this.pendingEntries.set(k, { part, session, key, entry });
    else this.writeEntry(part, session, key, entry);
    return true;
  }

  private writeEntry(part: number, session: string, key: string, entry: StateEntry): void {
    const { time, seq, id } = entry.version;
    this.putEntryRow.run(session, key, part, entry.deleted ? 1 : 0, entry.deleted ? null : JSON.stringify(entry.value), time, seq, id);
  }

  totals(session: string): TotalsRecord | undefined {
    this.flush();
    const row = this.getTotals.get(session) as { p: number; totals: string } | undefined;
    return row === undefined ? undefined : { totals: JSON.parse(row.totals) as SessionTotals, p: row.p };
  }

  /** Keeps `rec` unless totals written at a later (or the same) position are held. */
  putTotals(part: number, session: string, rec: TotalsRecord): void {
    const heldP = this.pendingTotals.get(session)?.rec.p ?? (this.getTotals.get(session) as { p: number } | undefined)?.p;
    if (heldP !== undefined && rec.p <= heldP) return;
    if (this.inBatch) this.pendingTotals.set(session, { part, rec });
    else this.putTotalsRow.run(session, part, rec.p, rec.totals.lastMs, JSON.stringify(rec.totals));
  }

  /** Writes what the batch so far applied (before a read, and at its end). */
  private flush(): void {
    for (const { part, session, key, entry } of this.pendingEntries.values()) this.writeEntry(part, session, key, entry);
    for (const [session, { part, rec }] of this.pendingTotals) this.putTotalsRow.run(session, part, rec.p, rec.totals.lastMs, JSON.stringify(rec.totals));
    this.pendingEntries.clear();
    this.pendingTotals.clear();
  }

  /** The `limit` sessions of partition `part` with the latest activity (ties in no set order). */
  recent(part: number, limit: number): { session: string; totals: SessionTotals }[] {
    this.flush();
    return (this.recentTotals.all(part, limit) as unknown as { session: string; totals: string }[]).map((r) => ({
      session: r.session,
      totals: JSON.parse(r.totals) as SessionTotals,
    }));
  }

  counts(part: number): { sessions: number; keys: number } {
    this.flush();
    return this.countRows.get(part) as { sessions: number; keys: number };
  }

  /** Forgets partition `part` (no longer held, or about to be re-read). */
  drop(part: number): void {
    this.flush();
    this.dropEntries.run(part);
    this.dropTotals.run(part);
  }

  /** Runs `fn` in one transaction (a fetched batch, a commit's writes). */
  batch(fn: () => void): void {
    if (this.inBatch) {
      fn();
      return;
    }
    this.inBatch = true;
    this.db.exec('BEGIN');
    try {
      fn();
    } finally {
      // Every put is idempotent: what was applied before a throw is kept.
      this.flush();
      this.db.exec('COMMIT');
      this.inBatch = false;
    }
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}

function entryOf(row: EntryRow): StateEntry {
  return {
    value: row.value === null ? undefined : (JSON.parse(row.value) as JsonValue),
    deleted: row.deleted === 1,
    version: { time: row.t, seq: row.s, id: row.i },
  };
}
