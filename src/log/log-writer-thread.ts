/**
 * The log writer's thread (started by `LogWriter`): the embedded log's appends. It opens its own
 * connection to `<dataDir>/turnstream.db` and appends each ingest batch in one transaction with
 * `SqliteEventLog.appendSync` (dedupe on the id index, session index, clock ticks), so SQLite's
 * B-tree work and the append's commit run on the other core while the main thread decodes the
 * next requests and runs the windows. WAL mode lets the main thread's connection read meanwhile;
 * its writes (the processor's commits, dead letters, retention) take the shared `WriteLock` like
 * this thread's appends.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openSqlite, type SyncMode } from './open-sqlite.ts';
import { SqliteEventLog, type LogRow } from './sqlite-event-log.ts';
import { LOG_WRITER, shareWriteLock, WriteLock } from './write-lock.ts';
import { threadError, type ThreadError } from './thread-error.ts';

export type { ThreadError };

export interface LogWriterData {
  readonly dataDir: string;
  readonly sync: SyncMode | undefined;
  /** The `WriteLock` shared with the main thread's connection. */
  readonly writeLock: SharedArrayBuffer;
}

/** An append as columns: fewer objects to clone across threads than one object per event. */
export type ToLogWriter =
  | {
      readonly kind: 'append';
      readonly id: number;
      readonly ids: readonly string[];
      readonly sessions: readonly string[];
      readonly times: Float64Array;
      readonly raws: readonly string[];
    }
  | { readonly kind: 'exec'; readonly id: number; readonly sql: string }
  | { readonly kind: 'close'; readonly id: number };

export type FromLogWriter =
  | { readonly kind: 'ready' }
  /** Per input, its log position, or 0 when the id was already in the log. */
  | { readonly kind: 'appended'; readonly id: number; readonly positions: Float64Array }
  | { readonly kind: 'done'; readonly id: number }
  | { readonly kind: 'failed'; readonly id: number; readonly error: ThreadError };

function append(log: SqliteEventLog, m: Extract<ToLogWriter, { kind: 'append' }>): Float64Array {
  const rows: LogRow[] = new Array(m.ids.length);
  for (let i = 0; i < rows.length; i++) rows[i] = { event: { id: m.ids[i]!, session: m.sessions[i]!, timeMs: m.times[i]! }, raw: m.raws[i]! };
  const outcomes = log.appendSync(rows);
  const positions = new Float64Array(outcomes.length);
  for (let i = 0; i < outcomes.length; i++) {
    const o = outcomes[i]!;
    positions[i] = o.status === 'appended' ? o.pos : 0;
  }
  return positions;
}

if (parentPort !== null) {
  const port = parentPort;
  const { dataDir, sync, writeLock } = workerData as LogWriterData;
  try {
    const db = openSqlite({ dataDir, writable: true, ...(sync === undefined ? {} : { sync }) });
    shareWriteLock(db, new WriteLock(LOG_WRITER, writeLock));
    const log = new SqliteEventLog(db, { writer: true });
    port.on('message', (m: ToLogWriter) => {
      try {
        if (m.kind === 'append') {
          const positions = append(log, m);
          port.postMessage({ kind: 'appended', id: m.id, positions } satisfies FromLogWriter, [positions.buffer as ArrayBuffer]);
          return;
        }
        if (m.kind === 'exec') db.exec(m.sql);
        else db.close();
        port.postMessage({ kind: 'done', id: m.id } satisfies FromLogWriter);
        // Closed: the thread ends once its port does.
        if (m.kind === 'close') port.close();
      } catch (error) {
        port.postMessage({ kind: 'failed', id: m.id, error: threadError(error) } satisfies FromLogWriter);
      }
    });
    port.postMessage({ kind: 'ready' } satisfies FromLogWriter);
  } catch (error) {
    port.postMessage({ kind: 'failed', id: -1, error: threadError(error) } satisfies FromLogWriter);
  }
}
