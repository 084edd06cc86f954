import { isTurnScoped, type LoggedEvent } from '../events/step-event.ts';
import type { DeadLetter } from '../events/reject-reason.ts';
import type { TurnAggregate } from '../model/turn-aggregate.ts';

/** A turn of the followed session that has events the pipeline has not yet emitted in an aggregate. */
export interface OpenTurn {
  readonly turn: string;
  /** Earliest event time seen for it, epoch ms. */
  readonly firstMs: number;
  /** Latest event time seen for it, epoch ms. */
  readonly lastMs: number;
  /** Events fed for it since its last aggregate (or since it opened). */
  readonly events: number;
}

interface Track {
  /** Log position of the last event fed for the turn, and its id. */
  lastPos: number;
  lastId: string;
  /** Highest `closedAtPos` of an aggregate emitted for the turn (0: none yet). */
  closedPos: number;
  firstMs: number;
  lastMs: number;
  events: number;
}

/**
 * Tracks, from the outside, which turns of one session the windows still hold open: a turn is
 * pending while an event fed for it is newer (in log position) than its latest aggregate. An
 * aggregate covers every event its window folded in up to `closedAtPos`; an event for a closed
 * turn either revises it at once (an aggregate at that event's position) or opens a new window.
 * The one case told apart by dead letters is a `late` event: it never reaches a window, so it
 * leaves nothing pending. A duplicate is not told apart (its id is its original's): the turn then
 * stays pending, which only makes a replay read further than it must, never stop too early.
 */
export class PendingTurns {
  private readonly session: string;
  private readonly turns = new Map<string, Track>();

  constructor(session: string) {
    this.session = session;
  }

  /** Records an event of the session as fed. */
  fed(logged: LoggedEvent): void {
    const e = logged.event;
    if (e.session !== this.session || !isTurnScoped(e)) return;
    let t = this.turns.get(e.turn);
    if (t === undefined) {
      t = { lastPos: 0, lastId: '', closedPos: 0, firstMs: e.timeMs, lastMs: e.timeMs, events: 0 };
      this.turns.set(e.turn, t);
    }
    if (t.closedPos >= t.lastPos) {
      // Nothing pending before this event: it starts a new count.
      t.events = 0;
      t.firstMs = e.timeMs;
      t.lastMs = e.timeMs;
    }
    t.lastPos = logged.pos;
    t.lastId = e.id;
    t.events++;
    if (e.timeMs < t.firstMs) t.firstMs = e.timeMs;
    if (e.timeMs > t.lastMs) t.lastMs = e.timeMs;
  }

  /** Records what one processed batch produced: aggregates close turns; late letters leave nothing open. */
  processed(aggregates: readonly TurnAggregate[], letters: readonly DeadLetter[]): void {
    for (const a of aggregates) {
      const t = a.session === this.session ? this.turns.get(a.turn) : undefined;
      if (t !== undefined && a.closedAtPos > t.closedPos) t.closedPos = a.closedAtPos;
    }
    for (const l of letters) {
      if (l.reason !== 'late' || l.session !== this.session) continue;
      for (const t of this.turns.values()) if (t.lastId === l.eventId && t.closedPos < t.lastPos) t.closedPos = t.lastPos;
    }
  }

  get any(): boolean {
    for (const t of this.turns.values()) if (t.lastPos > t.closedPos) return true;
    return false;
  }

  /** The turns still open, by their first event time. */
  open(): OpenTurn[] {
    const out: OpenTurn[] = [];
    for (const [turn, t] of this.turns) if (t.lastPos > t.closedPos) out.push({ turn, firstMs: t.firstMs, lastMs: t.lastMs, events: t.events });
    return out.sort((a, b) => a.firstMs - b.firstMs || (a.turn < b.turn ? -1 : 1));
  }
}
