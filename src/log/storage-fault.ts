/**
 * SQLite primary result codes that mean the storage, not the event, is at fault: retrying later
 * can succeed (space returns, the file becomes writable, the lock is released). Extended codes
 * (e.g. SQLITE_IOERR_WRITE = 778) carry the primary code in their low byte.
 */
const SQLITE_FAULTS: ReadonlyMap<number, string> = new Map([
  [5, 'database busy (SQLITE_BUSY)'],
  [6, 'database table locked (SQLITE_LOCKED)'],
  [7, 'out of memory (SQLITE_NOMEM)'],
  [8, 'database is read-only (SQLITE_READONLY)'],
  [10, 'disk I/O error (SQLITE_IOERR)'],
  [11, 'database file is damaged (SQLITE_CORRUPT)'],
  [13, 'disk full (SQLITE_FULL)'],
  [14, 'cannot open database file (SQLITE_CANTOPEN)'],
  [15, 'database lock protocol error (SQLITE_PROTOCOL)'],
  [26, 'file is not a database (SQLITE_NOTADB)'],
]);

const FS_FAULTS: ReadonlySet<string> = new Set(['ENOSPC', 'EROFS', 'EACCES', 'EPERM', 'EIO', 'EDQUOT', 'EMFILE', 'ENFILE']);

/**
 * Names the storage fault behind `error` (SQLite, file system, Kafka broker), or `undefined` when
 * the error is not one: then it follows the data being processed (a poison event), and retrying
 * the same data would fail the same way. The pump retries storage faults with backoff; the
 * processor isolates the event behind any other error and dead-letters it.
 */
export function storageFault(error: unknown): string | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const e = error as { errcode?: unknown; code?: unknown; name?: unknown; message?: unknown; retriable?: unknown };
  if (typeof e.errcode === 'number') {
    const named = SQLITE_FAULTS.get(e.errcode & 0xff);
    if (named !== undefined) return named;
  }
  if (typeof e.code === 'string' && FS_FAULTS.has(e.code)) return `file system: ${e.code}`;
  if (typeof e.name === 'string' && e.name.startsWith('KafkaJS')) return `Kafka: ${typeof e.message === 'string' ? e.message : e.name}`;
  return undefined;
}
