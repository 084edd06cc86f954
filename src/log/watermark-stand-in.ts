import type { LoggedEvent, SessionStartEvent } from '../events/step-event.ts';

/**
 * Session id of every stand-in. The schema requires ids of at least one character, so no logged
 * event can belong to it.
 */
export const STAND_IN_SESSION = '';

/**
 * What replaying ONE session feeds in place of another session's event: a bare `session.start` of
 * an impossible session, at the same log position and event time (and with the same id, so a
 * replay can still stop at it).
 *
 * Why it is enough: the turn windows' watermark is global to the log, so another session's events
 * decide when this session's turns are swept (abandoned, evicted) and which of its events are late;
 * they must be fed, in order, with their times and positions. But nothing else of theirs can reach
 * this session's outputs: windows, session info, state writes and roll-ups are keyed by session,
 * and sweeps depend only on the watermark and the positions. A stand-in moves the watermark and
 * triggers the same sweeps at the same positions, while opening no window, writing no state and
 * emitting nothing: the followed session's aggregates, state and totals come out identical to
 * feeding the real events, at a fraction of the cost. (The determinism tests check exactly this
 * against the live pipeline.)
 */
export function watermarkStandIn(pos: number, id: string, timeMs: number): LoggedEvent {
  const event: SessionStartEvent = { v: 1, id, type: 'session.start', session: STAND_IN_SESSION, time: timeMs, timeMs };
  return { pos, event };
}

/**
 * Stand-in ids of clock ticks: longer than the 256 characters the schema allows an event id, so no
 * logged event (and no `--at` id that finds one) can carry one; the position makes each unique.
 */
const TICK_ID_PREFIX = 'clock tick '.padEnd(257, '.');

/**
 * What replaying ONE session feeds for a clock tick (`ClockTicks`: where the largest event time so
 * far entered a later second, with its value there) in place of the other sessions' events. The
 * windows sweep only where the clock's second changes (their sweep interval is a whole number of
 * seconds), and between sweeps one session's windows depend on its own events and the clock of
 * the last sweep only: fed its own events and the ticks, in log order, the session comes out as
 * fed everything. The clock between ticks may lag the real one within the same second; nothing
 * of the session reads it there.
 */
export function clockTick(pos: number, clockMs: number): LoggedEvent {
  return watermarkStandIn(pos, `${TICK_ID_PREFIX}${pos}`, clockMs);
}
