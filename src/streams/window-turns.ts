import { Observable, type OperatorFunction, type Subscriber } from 'rxjs';
import { isTurnScoped, type LlmUsageEvent, type LoggedEvent, type TurnScopedEvent } from '../events/step-event.ts';
import type { PricedCost } from '../events/price-usage.ts';
import type { TurnAggregate } from '../model/turn-aggregate.ts';
import { TurnWindow } from './turn-window.ts';
import { forwardEvents } from './forward-events.ts';
import { SessionDirectory } from './session-directory.ts';

/** When turns close and how long they are held: shared by the windows and the dedupe step. */
export interface TurnTiming {
  /** A turn with no event for this long (event time) closes as `abandoned`. Default 10 min. */
  readonly turnIdleTimeoutMs?: number;
  /** How long (event time) a closed turn still accepts events, emitting a revision. Default 5 min. */
  readonly graceMs?: number;
  /**
   * How often (in event time) idle and expired windows are swept, at most. Default 5 s: a turn
   * closes as abandoned within 5 s of event time after its idle timeout (10 min by default).
   */
  readonly sweepIntervalMs?: number;
}

export const TURN_WINDOW_DEFAULTS = { turnIdleTimeoutMs: 600_000, graceMs: 300_000, sweepIntervalMs: 5_000 } as const satisfies Required<TurnTiming>;

export interface WindowTurnsOptions extends TurnTiming {
  /** Prices one LLM call (cost from the event, the price table, or 0 for subscriptions). */
  readonly price: (usage: LlmUsageEvent) => PricedCost;
}

export type WindowOutput =
  | { readonly kind: 'turn'; readonly aggregate: TurnAggregate }
  | { readonly kind: 'late'; readonly logged: LoggedEvent; readonly message: string };

/** A session's windows still open, and how many it holds (open, or closed within grace). */
interface SessionWindows {
  readonly open: Set<TurnWindow>;
  /** The session's entry must outlive its held windows: a revision still needs its agent and user. */
  held: number;
}

/**
 * Turn windows keyed by (session, turn): many sessions and several open turns per session at once.
 *
 * Time is event time only: the watermark is the largest event time seen so far, which makes the
 * output a pure function of the input order (replay gives the same aggregates, at the same
 * positions). A window opens at `turn.start` or the first event of an unknown turn, and closes at
 * `turn.end` (`completed`) or when the watermark passes its last event by `turnIdleTimeoutMs`
 * (`abandoned`); `session.end` closes its session's open turns as `abandoned`. An event for a closed
 * turn within `graceMs` re-emits the turn with `revision + 1`; an event older than the grace period
 * for a turn not held any more is emitted as `late` (for the dead-letter store), never dropped.
 * Repeated events must be dropped before (`priceAndDedupe`): the windows fold in what they get.
 *
 * Emits synchronously while processing each input. Completes when the source completes, without
 * closing open turns (they are not over; a restart rebuilds them from the log). Errors pass through.
 */
export function windowTurns(options: WindowTurnsOptions): OperatorFunction<LoggedEvent, WindowOutput> {
  return (source) =>
    new Observable<WindowOutput>((subscriber) => {
      const windows = new TurnWindows(options, subscriber);
      const subscription = forwardEvents(source, subscriber, (logged) => windows.onEvent(logged));
      return () => {
        subscription.unsubscribe();
        windows.clear();
      };
    });
}

/** The state of one subscription of `windowTurns`. */
class TurnWindows {
  private readonly idleMs: number;
  private readonly graceMs: number;
  private readonly sweepMs: number;
  private readonly price: (usage: LlmUsageEvent) => PricedCost;
  private readonly out: Subscriber<WindowOutput>;
  private readonly windows = new Map<string, TurnWindow>();
  private readonly sessions = new SessionDirectory<SessionWindows>(() => ({ open: new Set(), held: 0 }));
  private watermark = Number.NEGATIVE_INFINITY;
  private lastSweep = Number.NEGATIVE_INFINITY;

  constructor(options: WindowTurnsOptions, out: Subscriber<WindowOutput>) {
    const timing = { ...TURN_WINDOW_DEFAULTS, ...options };
    this.idleMs = timing.turnIdleTimeoutMs;
    this.graceMs = timing.graceMs;
    this.sweepMs = timing.sweepIntervalMs;
    this.price = options.price;
    this.out = out;
  }

  onEvent(logged: LoggedEvent): void {
    const e = logged.event;
    if (e.timeMs > this.watermark) this.watermark = e.timeMs;
    const info = this.sessions.observe(e);
    if (e.type === 'session.end') {
      for (const w of [...info.open]) this.close(w, 'abandoned', logged.pos);
    } else if (isTurnScoped(e) && !this.onTurnEvent(logged, e, info)) {
      return; // late: no sweep (it cannot have moved the watermark)
    }
    if (this.watermark - this.lastSweep >= this.sweepMs) this.sweep(logged.pos);
  }

  /** Folds a turn-scoped event into its window; false when it is late (emitted as such). */
  private onTurnEvent(logged: LoggedEvent, e: TurnScopedEvent, info: SessionWindows): boolean {
    const key = `${e.session}\u0000${e.turn}`;
    let w = this.windows.get(key);
    if (w === undefined) {
      if (e.timeMs + this.graceMs < this.watermark) {
        const message = `event time is ${this.watermark - e.timeMs} ms behind the watermark and turn "${e.turn}" is no longer held (grace ${this.graceMs} ms)`;
        this.out.next({ kind: 'late', logged, message });
        return false;
      }
      w = new TurnWindow(e.session, e.turn);
      this.windows.set(key, w);
      info.open.add(w);
      info.held++;
    }
    w.add(e, this.price);
    if (!w.isOpen) this.out.next({ kind: 'turn', aggregate: w.emit('abandoned', this.watermark, logged.pos, this.sessions.get(w.session)) });
    else if (e.type === 'turn.end') this.close(w, 'completed', logged.pos);
    return true;
  }

  private close(w: TurnWindow, status: 'completed' | 'abandoned', pos: number): void {
    const info = this.sessions.get(w.session);
    info?.open.delete(w);
    this.out.next({ kind: 'turn', aggregate: w.emit(status, this.watermark, pos, info) });
  }

  private sweep(pos: number): void {
    const { watermark } = this;
    this.lastSweep = watermark;
    for (const [key, w] of this.windows) {
      if (w.isOpen) {
        if (w.lastEventMs + this.idleMs < watermark) this.close(w, 'abandoned', pos);
      } else if ((w.closedAtWatermark ?? watermark) + this.graceMs < watermark) {
        this.windows.delete(key);
        const owner = this.sessions.get(w.session);
        if (owner !== undefined) owner.held--;
      }
    }
    this.sessions.release((info) => info.held === 0 && info.lastMs + this.idleMs + this.graceMs < watermark);
  }

  clear(): void {
    this.windows.clear();
    this.sessions.clear();
  }
}
