import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { TurnstreamError } from '../errors.ts';
import { storageFault } from './storage-fault.ts';
import { writeLockOf } from './write-lock.ts';

export type SyncMode = 'normal' | 'full';

/**
 * Opens (creating if needed) the embedded store `<dataDir>/turnstream.db` in WAL mode.
 * `normal` sync survives a killed process (kill -9): a committed transaction is in the WAL, which
 * the OS holds. `full` also survives power loss, at a throughput cost.
 *
 * An unusable file is refused with its path instead of being served: not a regular file, not a
 * SQLite database, not writable when `writable` (the server: every ingest would fail), or empty. A fresh open writes the
 * 4 KiB header at once (switching to WAL), so a 0-byte file with no WAL beside it is not a store
 * SQLite left behind: it is a truncated or misplaced one, and starting on it as an empty store
 * would hide that every event is gone.
 */
export function openSqlite({ dataDir, sync = 'normal', writable = false }: { dataDir: string; sync?: SyncMode; writable?: boolean }): DatabaseSync {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, 'turnstream.db');
  const existing = statSync(path, { throwIfNoEntry: false });
  if (existing !== undefined && !existing.isFile())
    throw new TurnstreamError(`database ${path} is not a regular file; move it away or choose another --data-dir`);
  if (existing?.size === 0 && !((statSync(`${path}-wal`, { throwIfNoEntry: false })?.size ?? 0) > 0)) {
    throw new TurnstreamError(
      `database ${path} is empty (0 bytes) and has no write-ahead log: a truncated or damaged store, not a new one; restore it from a backup, or remove it to start an empty store`,
    );
  }
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(path);
    // A 64 MiB page cache keeps the event-id index hot: producers' ids are random (UUIDv4), and with
    // SQLite's 2 MiB default every append missed the index pages once the log passed ~100k events.
    // Checkpointing every ~40 MiB of WAL instead of ~4 MiB makes the checkpoints (and their syncs)
    // inside COMMIT ten times rarer.
    // The busy timeout first: the journal-mode pragma already reads the file, and while another
    // process opens or closes the store (WAL recovery, the last connection's checkpoint) it failed
    // at once with SQLITE_BUSY instead of waiting (CI: one of 18 CLI processes opening one store).
    db.exec(
      `PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA synchronous = ${sync === 'full' ? 'FULL' : 'NORMAL'}; PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = 10000;`,
    );
    // Reads the header and the schema page only (a non-SQLite file fails here): a quick_check would
    // read every page, a start-up cost that grows with history.
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    if (writable) probeWritable(db);
    return db;
  } catch (error) {
    db?.close();
    if (error instanceof TurnstreamError) throw error;
    const fault = storageFault(error) ?? 'cannot be opened';
    throw new TurnstreamError(`database ${path}: ${fault}: ${(error as Error).message}; turnstream needs a writable SQLite database there`, { cause: error });
  }
}

/**
 * Throws (SQLITE_READONLY, SQLITE_FULL, …) unless a write that needs new pages can commit now. The
 * row is deleted in the same transaction, so the store does not grow; the commit still writes to
 * the WAL. For start-up, and for `/healthz` while a write fault is reported: ingest fails when
 * this does.
 */
export function probeWritable(db: DatabaseSync): void {
  inTransaction(db, () => {
    db.exec('CREATE TABLE IF NOT EXISTS write_probe (x BLOB)');
    db.exec('INSERT INTO write_probe VALUES (zeroblob(16384)); DELETE FROM write_probe;');
  });
}

/** Runs `fn` in one write transaction (all or nothing), holding the connection's shared write lock if it has one. */
export function inTransaction<T>(db: DatabaseSync, fn: () => T): T {
  const lock = writeLockOf(db);
  lock?.acquire();
  try {
    return transaction(db, fn);
  } finally {
    lock?.release();
  }
}

function transaction<T>(db: DatabaseSync, fn: () => T): T {
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = fn();
    db.exec('COMMIT');
    return result;
  } catch (error) {
    // SQLite rolls a transaction back by itself after some errors (SQLITE_FULL, SQLITE_IOERR during
    // COMMIT): a ROLLBACK then fails with "no transaction is active" and would hide the cause.
    if (db.isTransaction) {
      try {
        db.exec('ROLLBACK');
      } catch {
        // The original error is the one to report; a failed rollback leaves SQLite to roll back.
      }
    }
    throw error;
  }
}

/** Adds `column` to `table` unless it has it (a store made by an earlier version). */
export function addColumn(db: DatabaseSync, table: string, column: string, type: string): void {
  const columns = db.prepare(`SELECT name FROM pragma_table_info('${table}')`).all() as { name: string }[];
  if (!columns.some((c) => c.name === column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
}
