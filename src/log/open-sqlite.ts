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
  db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = ${sync === 'full' ? 'FULL' : 'NORMAL'}; PRAGMA busy_timeout = 5000;`);
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
