import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { openSqlite, type SyncMode } from '../log/open-sqlite.ts';
import type { DeadLetterRetention } from '../log/dead-letter-store.ts';
import { SqliteDeadLetterStore } from '../log/sqlite-dead-letter-store.ts';
import { SqliteEventLog } from '../log/sqlite-event-log.ts';
import { SqliteSessionStateStore } from './sqlite-session-state-store.ts';
import type { Logger } from '../logger.ts';

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
  logger,
}: {
  dataDir: string;
  sync?: SyncMode;
  writable?: boolean;
  deadLetterRetention?: DeadLetterRetention;
  /** Where the log reports its one-time migration (session index, clock ticks). */
  logger?: Logger;
}): EmbeddedStore {
  const db = openSqlite({ dataDir, ...(sync === undefined ? {} : { sync }), ...(writable === undefined ? {} : { writable }) });
  let closed = false;
  return {
    db,
    // The server prepares the log for appends at open (a migration, once); readers write nothing.
    log: new SqliteEventLog(db, { writer: writable === true, ...(logger === undefined ? {} : { logger }) }),
    state: new SqliteSessionStateStore(db, { checkpointDir: join(dataDir, 'checkpoints'), sweep: writable === true }),
    deadLetters: new SqliteDeadLetterStore(db, deadLetterRetention === undefined ? {} : { retention: deadLetterRetention }),
    close: () => {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}
