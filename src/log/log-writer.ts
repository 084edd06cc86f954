import type { DatabaseSync } from 'node:sqlite';
import { Worker } from 'node:worker_threads';
import type { AppendInput, AppendOutcome, EventLog } from './event-log.ts';
import type { FromLogWriter, LogWriterData, ThreadError, ToLogWriter } from './log-writer-thread.ts';
import type { SyncMode } from './open-sqlite.ts';
import { threadReady } from './thread-ready.ts';
import { LOG_WRITER, MAIN_WRITER, shareWriteLock, unshareWriteLock, WriteLock } from './write-lock.ts';

// From the sources (Node runs the .ts), or from dist/ (the built .js beside this file).
const THREAD = new URL(import.meta.url.endsWith('.ts') ? './log-writer-thread.ts' : './log-writer-thread.js', import.meta.url);

/** The error a thread reported, rebuilt with the fields `storageFault` reads (`errcode`, `code`). */
function rebuilt(e: ThreadError): Error {
  return Object.assign(new Error(e.message), e);
}

type Waiter = { resolve: (m: FromLogWriter) => void; reject: (e: Error) => void };

/**
 * The embedded log's appends on a worker thread (`log-writer-thread.ts`): `append` posts an ingest
 * batch (ids, sessions, event times and raw texts, as columns) and resolves with each event's
 * outcome once the thread's transaction committed, exactly as `SqliteEventLog.append` does in this
 * thread: ingest still acknowledges only what is durable. The thread appends batches in the order
 * they were posted, so positions follow the order of `append` calls.
 *
 * Measured against the processor's commits on the same thread too: worse (the processor then
 * waits for the thread, idle), so commits stay in the main thread, behind the shared `WriteLock`.
 *
 * A storage fault fails the request with SQLite's error (its `errcode`), as in this thread. If the
 * thread itself dies, requests waiting for it fail (nothing they asked for was acknowledged) and
 * the next request starts a new one.
 */
export class LogWriter implements Pick<EventLog, 'append'> {
  private readonly data: LogWriterData;
  private readonly lock: WriteLock;
  /** The main thread's connection, which shares the lock while the thread runs. */
  private readonly db: DatabaseSync;
  private worker: Worker | undefined;
  private readonly waiting = new Map<number, Waiter>();
  private nextId = 0;
  private closed = false;
  /** Appends acknowledged, and the transactions they took (fewer: appends queued together commit together). */
  readonly stats = { appends: 0, transactions: 0 };

  private constructor(data: LogWriterData, lock: WriteLock, db: DatabaseSync) {
    this.data = data;
    this.lock = lock;
    this.db = db;
  }

  /**
   * Starts the thread and waits until its connection is open (a failure to open is thrown here).
   * `db`, the main thread's connection to the same file, shares the thread's write lock from
   * before the thread opens the file until `close`.
   */
  static async start(o: { dataDir: string; sync?: SyncMode; db: DatabaseSync }): Promise<LogWriter> {
    const lock = new WriteLock(MAIN_WRITER);
    // Shared before the thread opens the file: its first writes (the open's probe) already take turns with ours.
    shareWriteLock(o.db, lock);
    const w = new LogWriter({ dataDir: o.dataDir, sync: o.sync, writeLock: lock.buffer }, lock, o.db);
    try {
      await w.started();
    } catch (error) {
      // The thread is gone or going; what failed is `error`, not the close.
      await w.close().catch(() => undefined);
      throw error;
    }
    return w;
  }

  async append(batch: readonly AppendInput[]): Promise<AppendOutcome[]> {
    if (batch.length === 0) return [];
    const n = batch.length;
    const ids: string[] = new Array(n);
    const sessions: string[] = new Array(n);
    const raws: string[] = new Array(n);
    const times = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const { event, raw } = batch[i]!;
      ids[i] = event.id;
      sessions[i] = event.session;
      times[i] = event.timeMs;
      raws[i] = raw;
    }
    const reply = await this.ask((id) => ({ kind: 'append', id, ids, sessions, times, raws }), [times.buffer as ArrayBuffer]);
    if (reply.kind !== 'appended') throw new Error(`the log writer answered ${reply.kind} to an append`);
    this.stats.appends++;
    if (reply.leads) this.stats.transactions++;
    const out: AppendOutcome[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const pos = reply.positions[i]!;
      out[i] = pos > 0 ? { status: 'appended', pos } : { status: 'duplicate' };
    }
    return out;
  }

  /** Runs SQL on the writer's connection: a PRAGMA that must hold for appends too (tests limit the pages to simulate a full disk). */
  async exec(sql: string): Promise<void> {
    await this.ask((id) => ({ kind: 'exec', id, sql }));
  }

  /** Closes the writer's connection and ends the thread. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const worker = this.worker;
    try {
      if (worker !== undefined) await this.ask((id) => ({ kind: 'close', id }), [], true);
    } finally {
      await worker?.terminate();
      this.lock.releaseFor(LOG_WRITER);
      unshareWriteLock(this.db);
    }
  }

  private started(): Promise<void> {
    return threadReady<FromLogWriter>(
      this.thread(),
      (m) => (m.kind === 'ready' ? 'ready' : m.kind === 'failed' && m.id === -1 ? rebuilt(m.error) : undefined),
      'the log writer thread',
    );
  }

  private ask(message: (id: number) => ToLogWriter, transfer: ArrayBuffer[] = [], closing = false): Promise<FromLogWriter> {
    if (this.closed && !closing) return Promise.reject(new Error('the log writer is closed'));
    const id = this.nextId++;
    return new Promise<FromLogWriter>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.thread().postMessage(message(id), transfer);
    });
  }

  private thread(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(THREAD, { workerData: this.data, name: 'turnstream-log-writer' });
    worker.on('message', (m: FromLogWriter) => {
      if (m.kind === 'ready' || m.id === -1) return;
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (m.kind === 'failed') w?.reject(rebuilt(m.error));
      else w?.resolve(m);
    });
    let crash: Error | undefined;
    // An uncaught error ends the thread: the exit below fails what waits for it, naming the error.
    worker.on('error', (error) => {
      crash = error;
    });
    worker.on('exit', (code) => {
      if (this.worker === worker) this.worker = undefined;
      // Died inside a transaction: SQLite rolled it back with the connection; the lock is freed here.
      this.lock.releaseFor(LOG_WRITER);
      const why = crash === undefined ? `exit code ${code}` : `${crash.name}: ${crash.message}`;
      const error = new Error(`the log writer thread ended (${why}); the writes it held were not acknowledged`);
      for (const w of this.waiting.values()) w.reject(error);
      this.waiting.clear();
    });
    this.worker = worker;
    return worker;
  }
}
