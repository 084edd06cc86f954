import { Observable, type OperatorFunction } from 'rxjs';
import { isTurnScoped, type LlmUsageEvent, type LoggedEvent } from '../events/step-event.ts';
import type { PricedCost } from '../events/price-usage.ts';
import { forwardEvents } from './forward-events.ts';
import { TURN_WINDOW_DEFAULTS, type TurnTiming } from './window-turns.ts';

export interface PriceAndDedupeOptions extends TurnTiming {
  /** Prices one LLM call; called once per `llm.usage` event that passes. */
  readonly price: (usage: LlmUsageEvent) => PricedCost;
  /**
   * Drop events whose id their turn already holds (emitted as `duplicate`). For at-least-once logs
   * (Kafka); a log that dedupes on append never delivers a repeat. Default false.
   */
  readonly dedupe?: boolean;
}

/** An event that passed, with its cost when it is an LLM call; or a repeat that was dropped. */
export type ScreenedEvent =
  | { readonly kind: 'event'; readonly logged: LoggedEvent; readonly cost?: PricedCost }
  | { readonly kind: 'duplicate'; readonly logged: LoggedEvent };

/** The ids one turn holds, and where it is in its life (mirrors the turn window's). */
interface HeldIds {
  readonly ids: Set<string>;
  readonly session: string;
  lastEventMs: number;
  /** Watermark at which the turn closed; undefined while open. */
  closedAt: number | undefined;
}

/**
 * The one step before every consumer of the log's events (turn windows, budget checks, state
 * writes): prices each LLM call once and, with `dedupe`, drops repeated ids, so that every consumer
 * sees the same events at the same cost whatever order it was subscribed in.
 *
 * Dedupe is per turn (turn-scoped events only: state writes and session events are idempotent by
 * themselves) and holds a turn's ids exactly as long as `windowTurns` holds the turn: the same
 * timing options, the same event-time rules (a turn closes at `turn.end`, at its `session.end`, or
 * idle at a sweep; it is released `graceMs` after closing) and the same sweep schedule (sweeps run
 * after an event that passed, when the watermark moved `sweepIntervalMs` since the last). Late
 * events (their turn not held, older than the grace period) pass without being held, for the
 * windows to dead-letter. Memory is bounded like the windows': open and recently closed turns only.
 *
 * Emits synchronously, one output per input; completes with its source; a throw from `price`
 * becomes the output's error.
 */
export function priceAndDedupe(options: PriceAndDedupeOptions): OperatorFunction<LoggedEvent, ScreenedEvent> {
  return (source) =>
    new Observable<ScreenedEvent>((subscriber) => {
      const held = options.dedupe === true ? new HeldTurnIds({ ...TURN_WINDOW_DEFAULTS, ...options }) : undefined;
      const subscription = forwardEvents(source, subscriber, (logged) => {
        const e = logged.event;
        const verdict = held === undefined ? 'new' : held.check(logged);
        if (verdict === 'repeat') subscriber.next({ kind: 'duplicate', logged });
        else subscriber.next(e.type === 'llm.usage' ? { kind: 'event', logged, cost: options.price(e) } : { kind: 'event', logged });
        if (verdict === 'new') held?.sweepIfDue();
      });
      return () => {
        subscription.unsubscribe();
        held?.clear();
      };
    });
}

/** The ids each held turn has seen, with the turn windows' lifecycle (see `priceAndDedupe`). */
class HeldTurnIds {
  private readonly idleMs: number;
  private readonly graceMs: number;
  private readonly sweepMs: number;
  private readonly turns = new Map<string, HeldIds>();
  private readonly openBySession = new Map<string, Set<HeldIds>>();
  private watermark = Number.NEGATIVE_INFINITY;
  private lastSweep = Number.NEGATIVE_INFINITY;

  constructor(timing: Required<TurnTiming>) {
    this.idleMs = timing.turnIdleTimeoutMs;
    this.graceMs = timing.graceMs;
    this.sweepMs = timing.sweepIntervalMs;
  }

  /** `repeat`: its turn holds the id; `late`: its turn is not held and it is past grace; else `new` (now held). */
  check({ event: e }: LoggedEvent): 'new' | 'repeat' | 'late' {
    if (e.timeMs > this.watermark) this.watermark = e.timeMs;
    if (e.type === 'session.end') for (const t of [...(this.openBySession.get(e.session) ?? [])]) this.close(t);
    if (!isTurnScoped(e)) return 'new';
    const key = `${e.session}\u0000${e.turn}`;
    let t = this.turns.get(key);
    if (t === undefined) {
      if (e.timeMs + this.graceMs < this.watermark) return 'late';
      t = { ids: new Set(), session: e.session, lastEventMs: Number.NEGATIVE_INFINITY, closedAt: undefined };
      this.turns.set(key, t);
      let open = this.openBySession.get(e.session);
      if (open === undefined) {
        open = new Set();
        this.openBySession.set(e.session, open);
      }
      open.add(t);
    } else if (t.ids.has(e.id)) return 'repeat';
    t.ids.add(e.id);
    if (e.timeMs > t.lastEventMs) t.lastEventMs = e.timeMs;
    if (t.closedAt === undefined && e.type === 'turn.end') this.close(t);
    return 'new';
  }

  private close(t: HeldIds): void {
    t.closedAt = this.watermark;
    const open = this.openBySession.get(t.session);
    open?.delete(t);
    if (open?.size === 0) this.openBySession.delete(t.session);
  }

  /** As the windows: after an event that passed (never a repeat or a late one), on the same schedule. */
  sweepIfDue(): void {
    if (this.watermark - this.lastSweep < this.sweepMs) return;
    this.lastSweep = this.watermark;
    for (const [key, t] of this.turns) {
      if (t.closedAt === undefined) {
        if (t.lastEventMs + this.idleMs < this.watermark) this.close(t);
      } else if (t.closedAt + this.graceMs < this.watermark) this.turns.delete(key);
    }
  }

  clear(): void {
    this.turns.clear();
    this.openBySession.clear();
  }
}
