import { DatabaseSync } from 'node:sqlite';

/**
 * A private temporary SQLite database for a cache rebuilt from Kafka (`TurnIndex`, `SessionIndex`):
 * SQLite's `''` file name puts it on disk, outside the JS heap, and deletes it when closed. No
 * journal, no fsync, a 16 MiB page cache; `batch` runs applies in one transaction.
 */
export class ScratchDb {
  readonly db: DatabaseSync;
  private inBatch = false;

  constructor(schema: string) {
    this.db = new DatabaseSync('');
    this.db.exec(`PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -16384; ${schema}`);
  }

  /** Whether a `batch` is running. */
  get batching(): boolean {
    return this.inBatch;
  }

  /**
   * Runs `fn` in one transaction (nested calls join the outer one); `beforeCommit` runs at its end.
   * The applies are idempotent: what ran before a throw is committed.
   */
  batch(fn: () => void, beforeCommit?: () => void): void {
    if (this.inBatch) {
      fn();
      return;
    }
    this.inBatch = true;
    this.db.exec('BEGIN');
    try {
      fn();
    } finally {
      beforeCommit?.();
      this.db.exec('COMMIT');
      this.inBatch = false;
    }
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}
