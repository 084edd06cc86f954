import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { DeadLetter, RejectReason } from '../events/reject-reason.ts';
import type { DeadLetterStore } from './dead-letter-store.ts';
import { inTransaction } from './open-sqlite.ts';

interface Row {
  at: number;
  reason: RejectReason;
  source: string;
  session: string | null;
  event_id: string | null;
  message: string;
  raw: string;
}

/** `DeadLetterStore` on SQLite: one row per rejected input, raw bytes kept as received. */
export class SqliteDeadLetterStore implements DeadLetterStore {
  private readonly db: DatabaseSync;
  private readonly insert: StatementSync;

  constructor(db: DatabaseSync) {
    this.db = db;
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
    this.insert = db.prepare('INSERT INTO dead_letters (at, reason, source, session, event_id, message, raw) VALUES (?, ?, ?, ?, ?, ?, ?)');
  }

  putSync(letters: readonly DeadLetter[]): void {
    if (letters.length === 0) return;
    inTransaction(this.db, () => {
      for (const l of letters) this.insert.run(l.at, l.reason, l.source, l.session ?? null, l.eventId ?? null, l.message, l.raw);
    });
  }

  async put(letters: readonly DeadLetter[]): Promise<void> {
    this.putSync(letters);
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
      ...(r.session === null ? {} : { session: r.session }),
      ...(r.event_id === null ? {} : { eventId: r.event_id }),
    }));
  }

  async countByReason(): Promise<Partial<Record<RejectReason, number>>> {
    const rows = this.db.prepare('SELECT reason, COUNT(*) AS n FROM dead_letters GROUP BY reason').all() as { reason: RejectReason; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.reason, r.n]));
  }
}
