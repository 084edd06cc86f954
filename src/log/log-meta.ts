import type { DatabaseSync, StatementSync } from 'node:sqlite';

/** The numbers the embedded log keeps about itself. */
export type LogMetaKey =
  /** Last position whose clock ticks are stored (rows after it were appended by a writer that kept none). */
  | 'ticks_through'
  /** Last position retention deleted (absent: never trimmed). */
  | 'log_trimmed_through'
  /** The event-time clock at `log_trimmed_through`: the clock survives when every tick before it is deleted. */
  | 'log_trimmed_clock_ms';

/**
 * The embedded log's own small key/value table (`log_meta`, apart from the state store's `meta`).
 * Readers never create it: before a writer has opened the store with this version, every key reads
 * as absent.
 */
export class LogMeta {
  private readonly db: DatabaseSync;
  private select: StatementSync | undefined;
  private upsert: StatementSync | undefined;

  constructor(db: DatabaseSync) {
    this.db = db;
  }

  /** Creates the table (writers only). */
  create(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS log_meta (key TEXT PRIMARY KEY, value NOT NULL) WITHOUT ROWID');
  }

  get(key: LogMetaKey): number | undefined {
    if (this.select === undefined) {
      if (!tableExists(this.db, 'log_meta')) return undefined;
      this.select = this.db.prepare('SELECT value FROM log_meta WHERE key = ?');
    }
    const row = this.select.get(key) as { value: number } | undefined;
    return row === undefined ? undefined : Number(row.value);
  }

  /** Inside the caller's transaction, when there is one. */
  set(key: LogMetaKey, value: number): void {
    this.upsert ??= this.db.prepare('INSERT INTO log_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
    this.upsert.run(key, value);
  }
}

/** Whether `name` is a table of `db` (readers check before they prepare a statement on it). */
export function tableExists(db: DatabaseSync, name: string): boolean {
  return schemaHas(db, 'table', name);
}

/** Whether `name` is an index of `db`. */
export function indexExists(db: DatabaseSync, name: string): boolean {
  return schemaHas(db, 'index', name);
}

const schemaHas = (db: DatabaseSync, type: 'table' | 'index', name: string): boolean =>
  db.prepare('SELECT 1 FROM sqlite_master WHERE type = ? AND name = ?').get(type, name) !== undefined;
