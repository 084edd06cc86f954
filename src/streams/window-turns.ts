import { Observable, type OperatorFunction } from 'rxjs';
import { isTurnScoped, type LlmUsageEvent, type LoggedEvent } from '../events/step-event.ts';
import type { PricedCost } from '../events/price-usage.ts';
import type { TurnAggregate } from './turn-aggregate.ts';
import { TurnWindow } from './turn-window.ts';
import { forwardEvents } from './forward-events.ts';

export interface WindowTurnsOptions {
  /** A turn with no event for this long (event time) closes as `abandoned`. Default 10 min. */
  readonly turnIdleTimeoutMs?: number;
  /** How long (event time) a closed turn still accepts events, emitting a revision. Default 5 min. */
  readonly graceMs?: number;
  /**
   * How often (in event time) idle and expired windows are swept, at most. Default 5 s: a turn
   * closes as abandoned within 5 s of event time after its idle timeout (10 min by default).
   */
  readonly sweepIntervalMs?: number;
  /**
   * Drop events whose id the turn already holds (emitted as `duplicate`). For at-least-once logs
   * (Kafka); a log that dedupes on append never delivers a repeat. Default false.
   */
  readonly dedupe?: boolean;
  /** Prices one LLM call (cost from the event, the price table, or 0 for subscriptions). */
  readonly price: (usage: LlmUsageEvent) => PricedCost;
}

export type WindowOutput =
  | { readonly kind: 'turn'; readonly aggregate: TurnAggregate }
  | { readonly kind: 'late'; readonly logged: LoggedEvent; readonly message: string }
  | { readonly kind: 'duplicate'; readonly logged: LoggedEvent };

interface SessionInfo {
  agent?: string;
  user?: string;
  lastMs: number;
  readonly open: Set<TurnWindow>;
  /** Windows of this session still held (open, or closed within grace): the info must outlive them. */
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
 * for a turn not held any more is emitted as `late` (for the dead-letter store), never dropped. With
 * `dedupe`, an event whose id its turn already holds is emitted as `duplicate` (turn-scoped events
 * only: state writes and session events are idempotent by themselves).
 *
 * Emits synchronously while processing each input. Completes when the source completes, without
 * closing open turns (they are not over; a restart rebuilds them from the log). Errors pass through.
 */
export function windowTurns(options: WindowTurnsOptions): OperatorFunction<LoggedEvent, WindowOutput> {
  const idleMs = options.turnIdleTimeoutMs ?? 600_000;
  const graceMs = options.graceMs ?? 300_000;
  const sweepMs = options.sweepIntervalMs ?? 5_000;
  const price = options.price;
  const dedupe = options.dedupe ?? false;

  return (source) =>
    new Observable<WindowOutput>((subscriber) => {
      const windows = new Map<string, TurnWindow>();
      const sessions = new Map<string, SessionInfo>();
      let watermark = Number.NEGATIVE_INFINITY;
      let lastSweep = Number.NEGATIVE_INFINITY;

      const sessionInfo = (id: string): SessionInfo => {
        let info = sessions.get(id);
        if (info === undefined) {
          info = { lastMs: Number.NEGATIVE_INFINITY, open: new Set(), held: 0 };
          sessions.set(id, info);
        }
        return info;
      };

      const close = (w: TurnWindow, status: 'completed' | 'abandoned', pos: number): void => {
        const info = sessions.get(w.session);
        info?.open.delete(w);
        subscriber.next({ kind: 'turn', aggregate: w.emit(status, watermark, pos, info) });
      };

      const sweep = (pos: number): void => {
        lastSweep = watermark;
        for (const [key, w] of windows) {
          if (w.isOpen) {
            if (w.lastEventMs + idleMs < watermark) close(w, 'abandoned', pos);
          } else if ((w.closedAtWatermark ?? watermark) + graceMs < watermark) {
            windows.delete(key);
            const owner = sessions.get(w.session);
            if (owner !== undefined) owner.held--;
          }
        }
        for (const [id, info] of sessions) {
          // A revision of a held window still needs the session's agent and user.
          if (info.held === 0 && info.lastMs + idleMs + graceMs < watermark) sessions.delete(id);
        }
      };

      const onEvent = (logged: LoggedEvent): void => {
        const e = logged.event;
        if (e.timeMs > watermark) watermark = e.timeMs;
        const info = sessionInfo(e.session);
        if (e.timeMs > info.lastMs) info.lastMs = e.timeMs;
        const agentAttr = e.attrs?.['agent.name'];
        if (info.agent === undefined && typeof agentAttr === 'string') info.agent = agentAttr;

        if (e.type === 'session.start') {
          if (e.agent !== undefined) info.agent = e.agent;
          if (e.user !== undefined) info.user = e.user;
        } else if (e.type === 'session.end') {
          for (const w of [...info.open]) close(w, 'abandoned', logged.pos);
        } else if (isTurnScoped(e)) {
          const key = `${e.session}\u0000${e.turn}`;
          let w = windows.get(key);
          if (w === undefined) {
            if (e.timeMs + graceMs < watermark) {
              subscriber.next({ kind: 'late', logged, message: `event time is ${watermark - e.timeMs} ms behind the watermark and turn "${e.turn}" is no longer held (grace ${graceMs} ms)` });
              return;
            }
            w = new TurnWindow(e.session, e.turn, dedupe);
            windows.set(key, w);
            info.open.add(w);
            info.held++;
          } else if (dedupe && w.holds(e.id)) {
            subscriber.next({ kind: 'duplicate', logged });
            return;
          }
          w.add(e, price);
          if (!w.isOpen) subscriber.next({ kind: 'turn', aggregate: w.emit('abandoned', watermark, logged.pos, info) });
          else if (e.type === 'turn.end') close(w, 'completed', logged.pos);
        }
        if (watermark - lastSweep >= sweepMs) sweep(logged.pos);
      };

      const subscription = forwardEvents(source, subscriber, onEvent);
      return () => {
        subscription.unsubscribe();
        windows.clear();
        sessions.clear();
      };
    });
}
