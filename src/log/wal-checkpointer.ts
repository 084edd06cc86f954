import { Worker } from 'node:worker_threads';
import type { Logger } from '../logger.ts';
import type { SyncMode } from './open-sqlite.ts';
import { threadReady } from './thread-ready.ts';
import type { FromWalCheckpointer, ToWalCheckpointer, WalCheckpointerData } from './wal-checkpointer-thread.ts';

// From the sources (Node runs the .ts), or from dist/ (the built .js beside this file).
const THREAD = new URL(import.meta.url.endsWith('.ts') ? './wal-checkpointer-thread.ts' : './wal-checkpointer-thread.js', import.meta.url);

/** How often the thread copies the WAL back into the database file. */
export const WAL_CHECKPOINT_INTERVAL_MS = 250;

/**
 * The writers' automatic checkpoint while the thread runs: a safety net only (the thread died
 * and was not restarted yet, or cannot keep up), at 256 MiB of WAL instead of the 40 MiB of
 * `openSqlite`.
 */
export const WRITER_AUTOCHECKPOINT_PAGES = 65_536;

/**
 * WAL checkpoints on their own thread (`wal-checkpointer-thread.ts`), so that no writer runs one.
 *
 * In WAL mode the connection whose COMMIT takes the WAL past `wal_autocheckpoint` pages copies
 * the WAL into the database file and syncs it, inside that COMMIT: measured at 10k events/s on the
 * embedded server, a 90–150 ms stall of the main thread's state commit about once a second (and the
 * log writer, waiting for the write lock meanwhile, stalled too), the p99 of event→aggregate. A
 * passive checkpoint on a third connection copies the same frames without the write lock while
 * both writers go on. Whoever starts this lowers the writers' own autocheckpoint to
 * `WRITER_AUTOCHECKPOINT_PAGES` (a safety net).
 *
 * The thread does not keep the process alive. If it dies, the error is logged and a new one is
 * started (until `close`); checkpoint errors (disk full) are logged once per kind.
 */
export class WalCheckpointer {
  private readonly data: WalCheckpointerData;
  private readonly logger: Logger | undefined;
  private worker: Worker | undefined;
  private closed = false;
  private lastError: string | undefined;

  private constructor(data: WalCheckpointerData, logger: Logger | undefined) {
    this.data = data;
    this.logger = logger;
  }

  /** Starts the thread and waits until its connection is open (a failure to open is thrown here). */
  static async start(o: { dataDir: string; sync?: SyncMode; intervalMs?: number; logger?: Logger }): Promise<WalCheckpointer> {
    const c = new WalCheckpointer({ dataDir: o.dataDir, sync: o.sync, intervalMs: o.intervalMs ?? WAL_CHECKPOINT_INTERVAL_MS }, o.logger);
    try {
      await c.started(c.thread());
    } catch (error) {
      // No restarts of a thread that could not open the store: the error is the caller's.
      await c.close();
      throw error;
    }
    return c;
  }

  /** Stops the thread (after the checkpoint it may be running); resolves to its totals. Idempotent. */
  async close(): Promise<{ runs: number; ms: number }> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    if (worker === undefined) return { runs: 0, ms: 0 };
    const totals = new Promise<{ runs: number; ms: number }>((resolve) => {
      worker.on('message', (m: FromWalCheckpointer) => {
        if (m.kind === 'closed') resolve({ runs: m.runs, ms: m.ms });
      });
      worker.once('exit', () => resolve({ runs: 0, ms: 0 }));
    });
    worker.postMessage({ kind: 'close' } satisfies ToWalCheckpointer);
    const result = await totals;
    await worker.terminate();
    return result;
  }

  private started(worker: Worker): Promise<void> {
    return threadReady<FromWalCheckpointer>(
      worker,
      (m) => (m.kind === 'ready' ? 'ready' : m.kind === 'failed' ? Object.assign(new Error(m.error.message), m.error) : undefined),
      'the WAL checkpoint thread',
    );
  }

  private thread(): Worker {
    const worker = new Worker(THREAD, { workerData: this.data, name: 'turnstream-wal-checkpoint' });
    worker.unref();
    worker.on('message', (m: FromWalCheckpointer) => {
      if (m.kind !== 'failed' || m.error.message === this.lastError) return;
      this.lastError = m.error.message;
      this.logger?.warn('WAL checkpoint failed; retrying on the next interval', { error: m.error.message });
    });
    worker.on('error', (error) => this.logger?.error('the WAL checkpoint thread failed; starting a new one', { error }));
    worker.on('exit', () => {
      if (this.worker !== worker || this.closed) return;
      this.worker = undefined;
      // A new thread after a pause: a thread that cannot open the file should not spin.
      setTimeout(() => {
        if (!this.closed && this.worker === undefined) this.worker = this.thread();
      }, 1_000).unref();
    });
    this.worker = worker;
    return worker;
  }
}
