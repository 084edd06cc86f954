import type { DatabaseSync } from 'node:sqlite';
import { parseLoggedEvent } from '../events/parse-logged-event.ts';
import type { LoggedEvent } from '../events/step-event.ts';
import type { FocusedRead } from './replay-log.ts';
import { watermarkStandIn } from './watermark-stand-in.ts';
import { unreadableEvent } from '../pipeline/screen-logged-event.ts';

/**
 * `FocusedRead` over the embedded log's `events` table (pos, id, session, body: see
 * `SqliteEventLog`). The followed session's rows come back whole and are parsed as the log's own
 * read parses them; for every other row SQLite returns only the position, the id and the event
 * time (`json_extract` in C), which become watermark stand-ins with the event time computed as
 * `parseLoggedEvent` computes it (a number as is, a string through `Date.parse`). Skipping the
 * other sessions' JSON.parse roughly doubles the speed of a one-session replay. A row SQLite's JSON
 * functions refuse (nested deeper than SQLite allows, not JSON) gets no time instead of failing the
 * whole read; a followed row that does not parse is handed on as unreadable (dead-lettered).
 */
export function sqliteFocusedRead(db: DatabaseSync): FocusedRead {
  return async function* read(session, { batchSize }) {
    const stmt = db.prepare(`SELECT pos, id, CASE WHEN session = ?1 THEN body END, CASE WHEN session = ?1 OR NOT json_valid(body) THEN NULL ELSE json_extract(body, '$.time') END
      FROM events WHERE pos > ?2 ORDER BY pos LIMIT ?3`);
    stmt.setReturnArrays(true);
    let after = 0;
    for (;;) {
      const rows = stmt.all(session, after, batchSize) as unknown as [number, string, string | null, string | number | null][];
      if (rows.length === 0) return;
      const batch: LoggedEvent[] = new Array(rows.length);
      for (let i = 0; i < rows.length; i++) {
        const [pos, id, body, time] = rows[i]!;
        batch[i] = body !== null ? { pos, event: parseStored(body) } : watermarkStandIn(pos, id, typeof time === 'number' ? time : Date.parse(time ?? ''));
      }
      yield batch;
      after = rows[rows.length - 1]![0];
      if (rows.length < batchSize) return;
    }
  };
}

function parseStored(body: string): LoggedEvent['event'] {
  try {
    return parseLoggedEvent(body);
  } catch (error) {
    return unreadableEvent(body, error);
  }
}
