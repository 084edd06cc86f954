import type { StepEvent } from '../events/step-event.ts';
import type { ClosedTurns } from './operator-state.ts';
import { MinQueue } from './min-queue.ts';
import { SessionDirectory, type SessionInfo } from './session-directory.ts';
import { finiteOrNull, type SnapshotReader } from './snapshot-reader.ts';
import type { TurnTiming } from './turn-timing.ts';

/** One turn an operator holds: open, or closed and still within grace. `W` is the operator's own per-turn state. */
export interface HeldTurn<W> {
  readonly session: string;
  readonly turn: string;
  /** The operator's state of the turn; an operator may replace it (e.g. by a compact form once the turn closed). */
  body: W;
  /** Latest event time of the turn. */
  lastEventMs: number;
  /** Sweep clock when the turn's latest event arrived (the clock after that event's own sweep, if it ran one). */
  seenAt: number;
  /** The session's clock when the turn closed; undefined while open. */
  closedAtSession: number | undefined;
  /** The sweep clock when the turn closed. */
  closedAtClock: number;
  /** Log position of the turn's latest aggregate (its close, or its latest revision); -1 while open. */
  closedAtPos: number;
  /** The turn's session entry (it outlives its held turns): no lookup by id in a sweep. */
  readonly info: SessionEntry<W>;
}

/** What `HeldTurns` keeps per session beside its agent, user and clock (`lastMs`, the session's latest event time). */
export interface SessionHold<W> {
  /** The session id, one string for all its held turns (each event brings its own copy). */
  readonly id: string;
  /**
   * The session's held turns by turn id (a lookup needs no `session + turn` key string made per
   * event), in the order they were held: its open ones in this order are the order they opened
   * (`session.end` closes them in it). The entry outlives them: a revision needs its agent and user.
   */
  readonly turns: Map<string, HeldTurn<W>>;
  /** Sweep clock when the session's latest event arrived. */
  seenAt: number;
}

export type SessionEntry<W> = SessionInfo & SessionHold<W>;

/** `[session, agent, user, lastMs, seenAt]`; null for an absent agent or user, or an infinite clock. */
export type SessionSnapshot = readonly [string, string | null, string | null, number | null, number | null];

/** `[session, turn, lastEventMs, seenAt, closedAtSession (null: open), closedAtClock, closedAtPos, body]`. */
export type HeldTurnSnapshot<B> = readonly [string, string, number | null, number | null, number | null, number | null, number, B];

/** The time rules' state: clocks, sessions and held turns, each list in its map's insertion order. */
export interface HeldTurnsSnapshot<B> {
  /** Watermark, sweep bucket and sweep clock; null before the first event. */
  readonly wm: number | null;
  readonly bucket: number | null;
  readonly clock: number | null;
  readonly sessions: readonly SessionSnapshot[];
  readonly turns: readonly HeldTurnSnapshot<B>[];
  /**
   * Only when asked for (`snapshot(body, true)`, of turns held with `trackOrder`), never in a
   * checkpoint: the log position at which each of `sessions` was created and each of `turns` was
   * held (-1: not tracked), so snapshots of disjoint sets of sessions fed the same clock can be
   * merged in the order one run over all of them makes (`mergeHeldSnapshots`).
   */
  readonly order?: { readonly sessions: readonly number[]; readonly turns: readonly number[] };
}

/**
 * The event-time rules of held turns, in ONE place for every operator that must agree on them (the
 * turn windows and the dedupe step): when a turn closes idle, when a closed turn is released, when
 * an event is late, and when sessions leave memory.
 *
 * Clocks: the watermark `wm` is the largest event time seen; a sweep runs after an event that moved
 * `wm` into another `sweepIntervalMs` bucket (and after the first event), and the sweep clock is `wm`
 * at the latest sweep; each session's clock is its own latest event time. A turn idles out when the
 * sweep clock passes by `turnIdleTimeoutMs` both its latest event and the clock at which that event
 * arrived, or when its own session's clock passes its latest event by as much; it is released the
 * same way `graceMs` after it closed. So a session whose events are far older than the watermark (a
 * history import, a producer with a lagging clock) is judged by its own clock and by how long it has
 * been silent, never by the newest event time elsewhere. An event of a turn not held is late only
 * when `closedTurns` says that turn was closed before it; otherwise it opens the turn again.
 *
 * Every event the operator sees must go through `observe`, then its turn (if any) through `fold` or
 * `hold`, then `settle`. Memory: open turns, closed turns within grace, and sessions that hold a turn
 * or were active within idle + grace.
 */
export class HeldTurns<W> {
  private readonly idleMs: number;
  private readonly graceMs: number;
  private readonly sweepMs: number;
  private readonly closedTurns: ClosedTurns;
  readonly sessions = new SessionDirectory<SessionHold<W>>((id) => {
    this.order?.sessions.set(id, this.at);
    return { id, seenAt: this.clock, turns: new Map() };
  });
  /** Every held turn, in the order it was first held (snapshots keep that order). */
  private readonly turns = new Set<HeldTurn<W>>();
  /** The open ones, in the same order: a sweep closes idle turns in it. */
  private readonly open = new Set<HeldTurn<W>>();
  /**
   * The closed ones by `closedAtSession`, and `due`: those whose grace may have passed (see `sweep`).
   * A sweep used to visit every held turn, most of them closed and far from their release: at a
   * turn closed every 15 events and 5 min of grace, one sweep visited each closed turn ~60 times
   * (6 % of a rebuild's time).
   */
  private readonly closing = new MinQueue<HeldTurn<W>>();
  private due: HeldTurn<W>[] = [];
  private wm = Number.NEGATIVE_INFINITY;
  private bucket: number | undefined;
  private clock = Number.NEGATIVE_INFINITY;
  /** Position of the event being processed (`observe`). */
  private at = -1;
  /**
   * With `trackOrder` (a shard of a rebuild): where each held turn was held and each held session
   * entry created; dropped with them (released, cleared). Kept beside the turns, not in them: a field per turn cost 16 B of heap per open
   * turn (the positions are stored as boxed doubles), for what only a rebuild by shard reads.
   */
  private readonly order: { readonly turns: Map<HeldTurn<W>, number>; readonly sessions: Map<string, number> } | undefined;
  /** The session and turn of the event being processed: their `seenAt` is stamped by `settle`. */
  private seenSession: SessionEntry<W> | undefined;
  private seenTurn: HeldTurn<W> | undefined;

  constructor(timing: Required<TurnTiming>, closedTurns: ClosedTurns, trackOrder = false) {
    this.order = trackOrder ? { turns: new Map(), sessions: new Map() } : undefined;
    this.idleMs = timing.turnIdleTimeoutMs;
    this.graceMs = timing.graceMs;
    this.sweepMs = timing.sweepIntervalMs;
    this.closedTurns = closedTurns;
  }

  /** First step for every event (at `pos`): moves the watermark and the session's clock; returns the session's entry. */
  observe(e: StepEvent, pos: number): SessionEntry<W> {
    if (e.timeMs > this.wm) this.wm = e.timeMs;
    this.at = pos;
    const info = this.sessions.observe(e);
    this.seenSession = info;
    return info;
  }

  get(session: string, turn: string): HeldTurn<W> | undefined {
    return this.sessions.get(session)?.turns.get(turn);
  }

  /** Whether an event at `pos` of a turn not held is late: its turn closed before it and was released. */
  isLate(session: string, turn: string, pos: number): boolean {
    return this.closedTurns.closedBefore(session, turn, pos);
  }

  /** Starts holding a turn (open) of session `info` with the operator's state `body`; then `fold` its first event. */
  hold(info: SessionEntry<W>, turn: string, body: W): HeldTurn<W> {
    const h: HeldTurn<W> = {
      session: info.id,
      turn,
      body,
      lastEventMs: Number.NEGATIVE_INFINITY,
      seenAt: this.clock,
      closedAtSession: undefined,
      closedAtClock: Number.NEGATIVE_INFINITY,
      closedAtPos: -1,
      info,
    };
    this.turns.add(h);
    this.open.add(h);
    this.order?.turns.set(h, this.at);
    info.turns.set(turn, h);
    return h;
  }

  /** Notes an event of `h` at `pos`; true when `h` is closed (the event revises it). */
  fold(h: HeldTurn<W>, timeMs: number, pos: number): boolean {
    if (timeMs > h.lastEventMs) h.lastEventMs = timeMs;
    this.seenTurn = h;
    if (h.closedAtSession === undefined) return false;
    h.closedAtPos = pos;
    return true;
  }

  /** Closes an open turn; its grace starts now. */
  close(h: HeldTurn<W>, pos: number): void {
    const info = h.info;
    this.open.delete(h);
    h.closedAtSession = info.lastMs;
    h.closedAtClock = this.clock;
    h.closedAtPos = pos;
    this.closing.push(h, info.lastMs);
  }

  /** The session's open turns, in the order they opened. */
  openOf(session: string): HeldTurn<W>[] {
    const open: HeldTurn<W>[] = [];
    for (const h of this.sessions.get(session)?.turns.values() ?? []) if (h.closedAtSession === undefined) open.push(h);
    return open;
  }

  /**
   * Last step for every event (at `pos`): sweeps if the watermark entered another bucket — each
   * idle turn is closed, then given to `onIdle` (in hold order) — and stamps the event's session and
   * turn with the sweep clock.
   */
  settle(pos: number, onIdle: (h: HeldTurn<W>) => void): void {
    const bucket = this.sweepMs > 0 ? Math.floor(this.wm / this.sweepMs) : this.wm;
    if (bucket !== this.bucket) {
      this.bucket = bucket;
      this.sweep(pos, onIdle);
    }
    if (this.seenSession !== undefined) this.seenSession.seenAt = this.clock;
    if (this.seenTurn !== undefined) this.seenTurn.seenAt = this.clock;
    this.seenSession = undefined;
    this.seenTurn = undefined;
  }

  private sweep(pos: number, onIdle: (h: HeldTurn<W>) => void): void {
    const clock = this.wm;
    this.clock = clock;
    const { idleMs, graceMs } = this;
    // Idle turns close in hold order (their aggregates are emitted in it).
    for (const h of this.open) {
      if (Math.max(h.lastEventMs, h.seenAt) + idleMs < clock || h.lastEventMs + idleMs < h.info.lastMs) {
        this.close(h, pos);
        onIdle(h);
      }
    }
    // A closed turn is released when the sweep clock passes both its session's clock and the sweep
    // clock at its close by the grace, or its session's clock passes its own by as much. Either
    // needs `closedAtSession + graceMs < clock` (a session's clock is never past the watermark), and
    // once true it stays so: only the turns that reached it are looked at, here and at every later
    // sweep until released. The order of releases does not matter (nothing is emitted); a turn
    // closed in this sweep is not released in it (its closedAtClock is this clock).
    const closing = this.closing;
    while (closing.peekKey() + graceMs < clock) this.due.push(closing.pop()!);
    if (this.due.length > 0) this.due = this.due.filter((h) => !this.releaseIfDue(h, clock));
    const order = this.order;
    this.sessions.release((s) => {
      const done = s.turns.size === 0 && Math.max(s.lastMs, s.seenAt) + idleMs + graceMs < clock;
      if (done) order?.sessions.delete(s.id);
      return done;
    });
  }

  /** Releases `h` if its grace has passed (see `sweep`); whether it did. */
  private releaseIfDue(h: HeldTurn<W>, clock: number): boolean {
    const at = h.closedAtSession!;
    const info = h.info;
    if (!(Math.max(at, h.closedAtClock) + this.graceMs < clock || at + this.graceMs < info.lastMs)) return false;
    this.turns.delete(h);
    this.order?.turns.delete(h);
    info.turns.delete(h.turn);
    this.closedTurns.released(h.session, h.turn, h.closedAtPos);
    return true;
  }

  /** The state as plain data; `body` encodes each turn's operator state; `order` adds where each entry was made. */
  snapshot<B>(body: (w: W, closed: boolean) => B, order = false): HeldTurnsSnapshot<B> {
    const at = this.order;
    const ordered = !order
      ? {}
      : {
          order: {
            sessions: [...this.sessions.entries()].map(([id]) => at?.sessions.get(id) ?? -1),
            turns: [...this.turns].map((h) => at?.turns.get(h) ?? -1),
          },
        };
    return {
      wm: finiteOrNull(this.wm),
      bucket: this.bucket === undefined ? null : finiteOrNull(this.bucket),
      clock: finiteOrNull(this.clock),
      sessions: [...this.sessions.entries()].map(
        ([id, s]): SessionSnapshot => [id, s.agent ?? null, s.user ?? null, finiteOrNull(s.lastMs), finiteOrNull(s.seenAt)],
      ),
      turns: [...this.turns].map(
        (h): HeldTurnSnapshot<B> => [
          h.session,
          h.turn,
          finiteOrNull(h.lastEventMs),
          finiteOrNull(h.seenAt),
          h.closedAtSession ?? null,
          finiteOrNull(h.closedAtClock),
          h.closedAtPos,
          body(h.body, h.closedAtSession !== undefined),
        ],
      ),
      ...ordered,
    };
  }

  /** Replaces the (empty) state with a snapshot's; `body` decodes a turn's operator state. Throws on a wrong shape. */
  restore(data: unknown, r: SnapshotReader, body: (b: unknown, where: string, session: string, turn: string) => W): void {
    const o = r.object(data, 'held turns');
    const inf = Number.NEGATIVE_INFINITY;
    this.wm = r.numberOr(o['wm'], 'wm', inf);
    this.bucket = o['bucket'] === null ? undefined : r.number(o['bucket'], 'bucket');
    this.clock = r.numberOr(o['clock'], 'clock', inf);
    for (const [i, x] of r.array(o['sessions'], 'sessions').entries()) {
      const where = `sessions[${i}]`;
      const [id, agent, user, lastMs, seenAt] = r.array(x, where, 5);
      const a = r.optionalString(agent, `${where} agent`);
      const u = r.optionalString(user, `${where} user`);
      const sid = r.string(id, `${where} id`);
      this.sessions.restore(sid, {
        id: sid,
        lastMs: r.numberOr(lastMs, `${where} lastMs`, inf),
        seenAt: r.numberOr(seenAt, `${where} seenAt`, inf),
        turns: new Map(),
        ...(a === undefined ? {} : { agent: a }),
        ...(u === undefined ? {} : { user: u }),
      });
    }
    const turns = r.array(o['turns'], 'turns');
    for (let i = 0; i < turns.length; i++) {
      const h = restoredTurn(turns[i]) ?? checkedTurn(turns[i], r, `turns[${i}]`);
      const info = this.sessions.get(h.session) ?? r.fail(`turns[${i}]`, `is a turn of session "${h.session}", which the snapshot does not hold`);
      if (info.turns.has(h.turn)) r.fail(`turns[${i}]`, `holds turn "${h.turn}" of session "${h.session}" a second time`);
      // The tuple's body decoded in place, its session entry added: `h` is this loop's own new object.
      const held = Object.assign(h, { session: info.id, body: body(h.body, `turns[${i}] body`, info.id, h.turn), info }) as HeldTurn<W>;
      this.turns.add(held);
      info.turns.set(h.turn, held);
      if (h.closedAtSession === undefined) this.open.add(held);
      else this.closing.push(held, h.closedAtSession);
    }
  }

  /** How many turns and sessions are held (memory bound checks). */
  get size(): { readonly turns: number; readonly sessions: number } {
    return { turns: this.turns.size, sessions: this.sessions.size };
  }

  clear(): void {
    this.turns.clear();
    this.open.clear();
    this.closing.clear();
    this.due = [];
    this.sessions.clear();
    this.order?.turns.clear();
    this.order?.sessions.clear();
  }
}

/** A held turn as a snapshot gives it: without its session entry (set when it is held again). */
type RestoredTurn = Omit<HeldTurn<unknown>, 'info'>;

const finiteOr = (x: unknown, ifNull: number): number | undefined => (x === null ? ifNull : typeof x === 'number' && Number.isFinite(x) ? x : undefined);

/**
 * A held turn's snapshot tuple as a turn (body still encoded), or undefined when anything in it is
 * off: then `checkedTurn` reads it again to say what. A restart reads ~16k of these (every turn
 * closed within the grace period): this path builds no message strings.
 */
function restoredTurn(x: unknown): RestoredTurn | undefined {
  if (!Array.isArray(x) || x.length !== 8) return undefined;
  const [session, turn, last, seen, atSession, atClock, atPos, body] = x as unknown[];
  const inf = Number.NEGATIVE_INFINITY;
  const lastEventMs = finiteOr(last, inf);
  const seenAt = finiteOr(seen, inf);
  const closedAtSession = finiteOr(atSession, Number.NaN);
  const closedAtClock = finiteOr(atClock, inf);
  const closedAtPos = finiteOr(atPos, Number.NaN);
  if (typeof session !== 'string' || typeof turn !== 'string' || lastEventMs === undefined || seenAt === undefined) return undefined;
  if (closedAtSession === undefined || closedAtClock === undefined || closedAtPos === undefined || Number.isNaN(closedAtPos)) return undefined;
  return { session, turn, body, lastEventMs, seenAt, closedAtSession: Number.isNaN(closedAtSession) ? undefined : closedAtSession, closedAtClock, closedAtPos };
}

/** `restoredTurn`, checking each field through `r`: throws naming the first one that is wrong. */
function checkedTurn(x: unknown, r: SnapshotReader, where: string): RestoredTurn {
  const inf = Number.NEGATIVE_INFINITY;
  const [s, t, lastEventMs, seenAt, closedAtSession, closedAtClock, closedAtPos, b] = r.array(x, where, 8);
  return {
    session: r.string(s, `${where} session`),
    turn: r.string(t, `${where} turn`),
    body: b,
    lastEventMs: r.numberOr(lastEventMs, `${where} lastEventMs`, inf),
    seenAt: r.numberOr(seenAt, `${where} seenAt`, inf),
    closedAtSession: closedAtSession === null ? undefined : r.number(closedAtSession, `${where} closedAtSession`),
    closedAtClock: r.numberOr(closedAtClock, `${where} closedAtClock`, inf),
    closedAtPos: r.number(closedAtPos, `${where} closedAtPos`),
  };
}
