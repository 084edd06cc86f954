import type { SqliteEventLog } from '../log/sqlite-event-log.ts';
import type { FocusedRead } from './replay-log.ts';
import { watermarkStandIn } from './watermark-stand-in.ts';

/**
 * `FocusedRead` over the embedded log: the followed session's events whole, every other event as a
 * watermark stand-in (see `watermarkStandIn`). The query itself is the log's (`readFollowing`), so
 * the SQLite table stays inside `log/`.
 */
export function sqliteFocusedRead(log: Pick<SqliteEventLog, 'readFollowing'>): FocusedRead {
  return (session, { batchSize }) => log.readFollowing(session, { batchSize, skim: watermarkStandIn });
}
