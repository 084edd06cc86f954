import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

export type SyncMode = 'normal' | 'full';

/**
 * Opens (creating if needed) the embedded store `<dataDir>/turnstream.db` in WAL mode.
 * `normal` sync survives a killed process (kill -9): a committed transaction is in the WAL, which
 * the OS holds. `full` also survives power loss, at a throughput cost.
 */
export function openSqlite({ dataDir, sync = 'normal' }: { dataDir: string; sync?: SyncMode }): DatabaseSync {
  mkdirSync(dataDir, { recursive: true });
  const db = new DatabaseSync(join(dataDir, 'turnstream.db'));
  // A 64 MiB page cache keeps the event-id index hot: producers' ids are random (UUIDv4), and with
  // SQLite's 2 MiB default every append missed the index pages once the log passed ~100k events.
  // Checkpointing every ~40 MiB of WAL instead of ~4 MiB makes the checkpoints (and their syncs)
  // inside COMMIT ten times rarer.
  db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = ${sync === 'full' ? 'FULL' : 'NORMAL'}; PRAGMA busy_timeout = 5000; PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = 10000;`);
  return db;
}

/** Runs `fn` in one write transaction (all or nothing). */
export function inTransaction<T>(db: DatabaseSync, fn: () => T): T {
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = fn();
    db.exec('COMMIT');
    return result;
  } catch (error) {
    db.exec('ROLLBACK');
    throw error;
  }
}
