import { TICK_MS } from '../log/clock-ticks.ts';
import type { SqliteEventLog } from '../log/sqlite-event-log.ts';
import type { FocusedRead } from './replay-log.ts';
import { clockTick, watermarkStandIn } from '../log/watermark-stand-in.ts';

/**
 * Events per batch of the ticked read, at most. The replay sees it is settled (past the session's
 * last event, no turn of it open) only between batches, and every tick fed costs about as much as
 * an event: smaller batches stop it closer to where it could (at 10M events of history, 5000 fed
 * ticks were most of a replay's time).
 */
const TICKED_BATCH = 512;

/**
 * `FocusedRead` over the embedded log: the followed session's events whole, through the session
 * index, and in place of the other sessions' events only the clock ticks (`clockTick`), plus the
 * stop point's event when it is another session's (`readSession`). With a sweep interval that is
 * not a whole number of seconds the ticks would miss sweeps: then every other event is read as a
 * `watermarkStandIn` (`readFollowing`, a walk of the whole log). The queries are the log's, so the
 * SQLite tables stay inside `log/`.
 */
export function sqliteFocusedRead(log: Pick<SqliteEventLog, 'readFollowing' | 'readSession'>): FocusedRead {
  return (session, { batchSize, sweepMs, stop }) =>
    sweepMs > 0 && sweepMs % TICK_MS === 0
      ? log.readSession(session, {
          batchSize: Math.min(batchSize, TICKED_BATCH),
          sweepMs,
          tick: clockTick,
          skim: watermarkStandIn,
          ...(stop === undefined ? {} : { stop }),
        })
      : log.readFollowing(session, { batchSize, skim: watermarkStandIn });
}
