import type { DatabaseSync } from 'node:sqlite';
import { openSqlite, type SyncMode } from '../log/open-sqlite.ts';
import type { DeadLetterRetention } from '../log/dead-letter-store.ts';
import { SqliteDeadLetterStore } from '../log/sqlite-dead-letter-store.ts';
import { SqliteEventLog } from '../log/sqlite-event-log.ts';
import { SqliteSessionStateStore } from './sqlite-session-state-store.ts';

export interface EmbeddedStore {
  readonly db: DatabaseSync;
  readonly log: SqliteEventLog;
  readonly state: SqliteSessionStateStore;
  readonly deadLetters: SqliteDeadLetterStore;
  close(): void;
}

/**
 * The embedded default: event log, state store and dead letters in one SQLite file (WAL).
 * `writable` refuses a store ingest could not write to (the server); readers leave it off.
 */
export function openEmbeddedStore({
  dataDir,
  sync,
  writable,
  deadLetterRetention,
}: {
  dataDir: string;
  sync?: SyncMode;
  writable?: boolean;
  deadLetterRetention?: DeadLetterRetention;
}): EmbeddedStore {
  const db = openSqlite({ dataDir, ...(sync === undefined ? {} : { sync }), ...(writable === undefined ? {} : { writable }) });
  let closed = false;
  return {
    db,
    log: new SqliteEventLog(db),
    state: new SqliteSessionStateStore(db),
    deadLetters: new SqliteDeadLetterStore(db, deadLetterRetention === undefined ? {} : { retention: deadLetterRetention }),
    close: () => {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}
