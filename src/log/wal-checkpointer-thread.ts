/**
 * The WAL checkpointer's thread (started by `WalCheckpointer`): its own connection to
 * `<dataDir>/turnstream.db` copies committed WAL frames back into the database file every
 * `intervalMs` with `PRAGMA wal_checkpoint(PASSIVE)`. A passive checkpoint takes neither the write
 * lock nor waits for readers, so appends and commits go on meanwhile; the writers' own (automatic)
 * checkpoints, which ran inside a COMMIT and stalled that writer and the other one waiting for the
 * write lock, are left as a safety net only.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openSqlite, type SyncMode } from './open-sqlite.ts';
import { threadError, type ThreadError } from './thread-error.ts';

export interface WalCheckpointerData {
  readonly dataDir: string;
  readonly sync: SyncMode | undefined;
  readonly intervalMs: number;
}

export type ToWalCheckpointer = { readonly kind: 'close' };

export type FromWalCheckpointer =
  | { readonly kind: 'ready' }
  /** A checkpoint failed (the next one is tried on time); `error` as SQLite reported it. */
  | { readonly kind: 'failed'; readonly error: ThreadError }
  /** Totals since the start: checkpoints run, milliseconds spent in them. */
  | { readonly kind: 'closed'; readonly runs: number; readonly ms: number };

if (parentPort !== null) {
  const port = parentPort;
  const { dataDir, sync, intervalMs } = workerData as WalCheckpointerData;
  try {
    const db = openSqlite({ dataDir, ...(sync === undefined ? {} : { sync }) });
    db.exec('PRAGMA wal_autocheckpoint = 0');
    const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
    let runs = 0;
    let ms = 0;
    const timer = setInterval(() => {
      const start = performance.now();
      try {
        checkpoint.get();
        runs++;
      } catch (error) {
        port.postMessage({ kind: 'failed', error: threadError(error) } satisfies FromWalCheckpointer);
      }
      ms += performance.now() - start;
    }, intervalMs);
    port.on('message', (m: ToWalCheckpointer) => {
      if (m.kind !== 'close') return;
      clearInterval(timer);
      db.close();
      port.postMessage({ kind: 'closed', runs, ms } satisfies FromWalCheckpointer);
      port.close();
    });
    port.postMessage({ kind: 'ready' } satisfies FromWalCheckpointer);
  } catch (error) {
    port.postMessage({ kind: 'failed', error: threadError(error) } satisfies FromWalCheckpointer);
    port.close();
  }
}
