import type { DatabaseSync } from 'node:sqlite';

/** How long a writer waits for the other thread's transaction before failing as SQLITE_BUSY would. */
const WAIT_MS = 5_000;

/**
 * The write lock of one SQLite file, shared by the threads that write it (the main thread's
 * connection and the log writer thread's): `inTransaction` takes it around BEGIN IMMEDIATE … COMMIT.
 * SQLite serialises writers itself, but a writer that finds the lock taken in WAL mode either
 * sleeps in steps (1, 2, 5, 10 … ms, far longer than the other's transaction) or, measured here
 * under load, fails with SQLITE_BUSY after 16–34 ms despite `busy_timeout`; with this lock the
 * waiter wakes the moment the other commits (`Atomics.notify`) and SQLite never sees contention.
 *
 * Two 32-bit cells in a SharedArrayBuffer: the holder (0 free, else the holder's number, 1 or 2)
 * and a bit per waiting holder. A release hands the lock straight to a waiting other thread, so a
 * thread that writes back to back (the log writer with a queue of appends) cannot starve the other
 * by taking the lock again before the waiter wakes. A wait
 * longer than 5 s throws an error with SQLite's busy code (5), so callers treat it as the storage
 * fault it is and retry later; a thread that died holding the lock is released by the thread that
 * saw it die (`releaseFor`).
 */
export class WriteLock {
  readonly buffer: SharedArrayBuffer;
  private readonly cells: Int32Array;
  private readonly holder: number;

  constructor(holder: 1 | 2, buffer: SharedArrayBuffer = new SharedArrayBuffer(8)) {
    this.buffer = buffer;
    this.cells = new Int32Array(buffer);
    this.holder = holder;
  }

  acquire(): void {
    const me = this.holder;
    if (Atomics.compareExchange(this.cells, HOLDER, 0, me) === 0) return;
    Atomics.or(this.cells, WAITING, me);
    for (const until = performance.now() + WAIT_MS; ; ) {
      // Free, or handed to us by the releasing thread.
      const held = Atomics.compareExchange(this.cells, HOLDER, 0, me);
      if (held === 0 || held === me) {
        Atomics.and(this.cells, WAITING, ~me);
        return;
      }
      const left = until - performance.now();
      if (left <= 0) {
        Atomics.and(this.cells, WAITING, ~me);
        // Handed to us just as we gave up: keep it after all (the caller goes on as if it had waited).
        if (Atomics.load(this.cells, HOLDER) === me) return;
        throw Object.assign(new Error('database is locked: the other writer held the write lock for 5 s'), { errcode: 5, errstr: 'database is locked' });
      }
      Atomics.wait(this.cells, HOLDER, held, left);
    }
  }

  release(): void {
    const other = Atomics.load(this.cells, WAITING) & ~this.holder;
    Atomics.store(this.cells, HOLDER, other === 0 ? 0 : other);
    Atomics.notify(this.cells, HOLDER);
  }

  /** Frees the lock if `holder` (a thread that ended) still holds it. */
  releaseFor(holder: number): void {
    if (Atomics.compareExchange(this.cells, HOLDER, holder, 0) === holder) Atomics.notify(this.cells, HOLDER);
  }
}

const HOLDER = 0;
const WAITING = 1;

/** The holders of an embedded store's write lock: the main thread, the log writer's thread. */
export const MAIN_WRITER = 1;
export const LOG_WRITER = 2;

const locks = new WeakMap<DatabaseSync, WriteLock>();

/** From now on, this connection's write transactions (`inTransaction`) take `lock`. */
export function shareWriteLock(db: DatabaseSync, lock: WriteLock): void {
  locks.set(db, lock);
}

/** This connection writes alone again (the other thread ended). */
export function unshareWriteLock(db: DatabaseSync): void {
  locks.delete(db);
}

/** The lock this connection's write transactions take, if it shares one. */
export function writeLockOf(db: DatabaseSync): WriteLock | undefined {
  return locks.get(db);
}
