import type { JsonValue } from '../model/json-value.ts';
import type { SessionTotals } from '../model/session-totals.ts';
import { winsOver, type StateEntry } from '../model/state-write.ts';
import type { TotalsRecord } from './kafka-state-records.ts';
import { ScratchDb } from './scratch-db.ts';

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
  private readonly scratch = new ScratchDb(`
    CREATE TABLE entries (
      session TEXT NOT NULL, key TEXT NOT NULL, part INTEGER NOT NULL, deleted INTEGER NOT NULL,
      value TEXT, t REAL NOT NULL, s REAL NOT NULL, i TEXT NOT NULL, PRIMARY KEY (session, key)
    ) WITHOUT ROWID;
    CREATE TABLE totals (
      session TEXT PRIMARY KEY, part INTEGER NOT NULL, p INTEGER NOT NULL, last_ms REAL NOT NULL, totals TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX totals_recent ON totals (part, last_ms);
  `);
  private readonly getEntry = this.scratch.db.prepare('SELECT deleted, value, t, s, i FROM entries WHERE session = ? AND key = ?');
  private readonly putEntryRow = this.scratch.db.prepare(
    'INSERT OR REPLACE INTO entries (session, key, part, deleted, value, t, s, i) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  private readonly listEntries = this.scratch.db.prepare('SELECT key, deleted, value, t, s, i FROM entries WHERE session = ?');
  private readonly getTotals = this.scratch.db.prepare('SELECT p, totals FROM totals WHERE session = ?');
  private readonly putTotalsRow = this.scratch.db.prepare('INSERT OR REPLACE INTO totals (session, part, p, last_ms, totals) VALUES (?, ?, ?, ?, ?)');
  private readonly recentTotals = this.scratch.db.prepare('SELECT session, totals FROM totals WHERE part = ? ORDER BY last_ms DESC LIMIT ?');
  private readonly countRows = this.scratch.db.prepare(
    'SELECT (SELECT COUNT(*) FROM entries WHERE part = ?1) AS keys, (SELECT COUNT(*) FROM (SELECT session FROM entries WHERE part = ?1 UNION SELECT session FROM totals WHERE part = ?1)) AS sessions',
  );
  private readonly dropEntries = this.scratch.db.prepare('DELETE FROM entries WHERE part = ?');
  private readonly dropTotals = this.scratch.db.prepare('DELETE FROM totals WHERE part = ?');
  /**
   * Within a batch, the latest entry per key and totals per session applied, written at its end: a
   * partition re-read brings every superseded totals record the cleaner has not compacted yet
   * (one per commit that touched the session), and one SQLite write each made a takeover's re-read
   * ~2× slower.
   */
  private readonly pendingEntries = new Map<string, { readonly part: number; readonly session: string; readonly key: string; readonly entry: StateEntry }>();
  private readonly pendingTotals = new Map<string, { readonly part: number; readonly rec: TotalsRecord }>();

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
    const k = this.scratch.batching ? `${session}\u0000${key}` : undefined;
    const pending = k === undefined ? undefined : this.pendingEntries.get(k);
    if (pending !== undefined) {
      if (!winsOver(entry.version, pending.entry.version)) return false;
    } else {
      const held = this.getEntry.get(session, key) as EntryRow | undefined;
      if (held !== undefined && !winsOver(entry.version, { time: held.t, seq: held.s, id: held.i })) return false;
    }
    if (k !== undefined) this.pendingEntries.set(k, { part, session, key, entry });
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
    if (this.scratch.batching) this.pendingTotals.set(session, { part, rec });
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

  /** Runs `fn` in one transaction (a fetched batch, a commit's writes); what it applied is written at its end. */
  batch(fn: () => void): void {
    this.scratch.batch(fn, () => this.flush());
  }

  close(): void {
    this.scratch.close();
  }
}

function entryOf(row: EntryRow): StateEntry {
  return {
    value: row.value === null ? undefined : (JSON.parse(row.value) as JsonValue),
    deleted: row.deleted === 1,
    version: { time: row.t, seq: row.s, id: row.i },
  };
}
