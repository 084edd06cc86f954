/**
 * The log writer's thread (started by `LogWriter`): the embedded log's appends. It opens its own
 * connection to `<dataDir>/turnstream.db` and appends each ingest batch in one transaction with
 * `SqliteEventLog.appendSync` (dedupe on the id index, session index, clock ticks; batches queued
 * behind one join its transaction: `GROUP_COMMIT_EVENTS`), so SQLite's
 * B-tree work and the append's commit run on the other core while the main thread decodes the
 * next requests and runs the windows. WAL mode lets the main thread's connection read meanwhile;
 * its writes (the processor's commits, dead letters, retention) take the shared `WriteLock` like
 * this thread's appends.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
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
  | {
      readonly kind: 'appended';
      readonly id: number;
      readonly positions: Float64Array;
      /** The first append of its transaction (group commit: the others shared it). */
      readonly leads: boolean;
    }
  | { readonly kind: 'done'; readonly id: number }
  | { readonly kind: 'failed'; readonly id: number; readonly error: ThreadError };

type AppendMessage = Extract<ToLogWriter, { kind: 'append' }>;

/**
 * Appends queued together commit together (group commit), up to this many events: one transaction
 * instead of one per ingest call, so its commit (the WAL frames of the pages it dirtied) and the
 * session extents' upserts are paid once for the group.
 */
export const GROUP_COMMIT_EVENTS = 16_384;

/** The messages' events in one transaction, in order; per message, its positions (0: a repeated id). */
function appendGroup(log: SqliteEventLog, group: readonly AppendMessage[]): Float64Array[] {
  const rows: LogRow[] = [];
  for (const m of group) {
    for (let i = 0; i < m.ids.length; i++) rows.push({ event: { id: m.ids[i]!, session: m.sessions[i]!, timeMs: m.times[i]! }, raw: m.raws[i]! });
  }
  const outcomes = log.appendSync(rows);
  let k = 0;
  return group.map((m) => {
    const positions = new Float64Array(m.ids.length);
    for (let i = 0; i < positions.length; i++, k++) {
      const o = outcomes[k]!;
      positions[i] = o.status === 'appended' ? o.pos : 0;
    }
    return positions;
  });
}

if (parentPort !== null) {
  const port = parentPort;
  const { dataDir, sync, writeLock } = workerData as LogWriterData;
  try {
    const db = openSqlite({ dataDir, writable: true, ...(sync === undefined ? {} : { sync }) });
    shareWriteLock(db, new WriteLock(LOG_WRITER, writeLock));
    const log = new SqliteEventLog(db, { writer: true });
    const handle = (m: ToLogWriter): void => {
      if (m.kind === 'append') {
        // The appends queued behind this one join its transaction; a message of another kind ends
        // the group and is handled after it, so everything keeps the order it was posted in.
        const group = [m];
        let events = m.ids.length;
        let after: ToLogWriter | undefined;
        while (events < GROUP_COMMIT_EVENTS) {
          const next = receiveMessageOnPort(port)?.message as ToLogWriter | undefined;
          if (next === undefined) break;
          if (next.kind !== 'append') {
            after = next;
            break;
          }
          group.push(next);
          events += next.ids.length;
        }
        try {
          const positions = appendGroup(log, group);
          for (let i = 0; i < group.length; i++) {
            const m = { kind: 'appended', id: group[i]!.id, positions: positions[i]!, leads: i === 0 } satisfies FromLogWriter;
            port.postMessage(m, [positions[i]!.buffer as ArrayBuffer]);
          }
        } catch (error) {
          // Nothing of the group was appended (one transaction): each caller gets the error.
          for (const g of group) port.postMessage({ kind: 'failed', id: g.id, error: threadError(error) } satisfies FromLogWriter);
        }
        if (after !== undefined) handle(after);
        return;
      }
      try {
        if (m.kind === 'exec') db.exec(m.sql);
        else db.close();
        port.postMessage({ kind: 'done', id: m.id } satisfies FromLogWriter);
        // Closed: the thread ends once its port does.
        if (m.kind === 'close') port.close();
      } catch (error) {
        port.postMessage({ kind: 'failed', id: m.id, error: threadError(error) } satisfies FromLogWriter);
      }
    };
    port.on('message', handle);
    port.postMessage({ kind: 'ready' } satisfies FromLogWriter);
  } catch (error) {
    port.postMessage({ kind: 'failed', id: -1, error: threadError(error) } satisfies FromLogWriter);
  }
}
