import type { OperatorFunction } from 'rxjs';
import { Observable } from './rx.ts';
import { isTurnScoped, type LlmUsageEvent, type LoggedEvent } from '../events/step-event.ts';
import type { PricedCost } from '../events/price-usage.ts';
import { forwardEvents } from './forward-events.ts';
import { HeldTurns, type HeldTurn, type HeldTurnsSnapshot } from './held-turns.ts';
import { memoryClosedTurns, type ClosedTurns, type OperatorState } from './operator-state.ts';
import { SnapshotReader } from './snapshot-reader.ts';
import { TURN_WINDOW_DEFAULTS, type TurnTiming } from './turn-timing.ts';

export interface PriceAndDedupeOptions extends TurnTiming {
  /** Prices one LLM call; called once per `llm.usage` event that passes. */
  readonly price: (usage: LlmUsageEvent) => PricedCost;
  /**
   * Drop events whose id their turn already holds (emitted as `duplicate`). For at-least-once logs
   * (Kafka); a log that dedupes on append never delivers a repeat. Default false.
   */
  readonly dedupe?: boolean;
  /** The turns released before; give it the one the windows get. Default: a fresh `memoryClosedTurns()` per subscription. */
  readonly closedTurns?: ClosedTurns;
  /** Checkpoints of the held ids (with `dedupe` only: without, the step holds nothing). */
  readonly state?: OperatorState<DedupeSnapshot>;
}

/** An event that passed, with its cost when it is an LLM call; or a repeat that was dropped. */
export type ScreenedEvent =
  | { readonly kind: 'event'; readonly logged: LoggedEvent; readonly cost?: PricedCost }
  | { readonly kind: 'duplicate'; readonly logged: LoggedEvent };

/** The ids held by the dedupe step, per held turn (the turn windows' clocks and order), as JSON-safe data. */
export interface DedupeSnapshot {
  readonly v: 1;
  readonly held: HeldTurnsSnapshot<readonly string[]>;
}

/**
 * The one step before every consumer of the log's events (turn windows, budget checks, state
 * writes): prices each LLM call once and, with `dedupe`, drops repeated ids, so that every consumer
 * sees the same events at the same cost whatever order it was subscribed in.
 *
 * Dedupe is per turn (turn-scoped events only: state writes and session events are idempotent by
 * themselves) and holds a turn's ids exactly as long as `windowTurns` holds the turn: the same
 * timing options and the same `HeldTurns` rules, fed the same events (a repeat is invisible to both:
 * it moves no clock and runs no sweep), with emission before the sweep so that the windows decide
 * first. Late events (their turn closed and released before them) pass without being held, for the
 * windows to dead-letter. Memory is bounded like the windows': open and recently closed turns only.
 *
 * Emits synchronously, one output per input; completes with its source; a throw from `price`
 * becomes the output's error, as does a structurally wrong `state.initial` (at subscription).
 */
export function priceAndDedupe(options: PriceAndDedupeOptions): OperatorFunction<LoggedEvent, ScreenedEvent> {
  return (source) =>
    new Observable<ScreenedEvent>((subscriber) => {
      const held = options.dedupe === true ? new HeldIds(options) : undefined;
      if (held !== undefined) options.state?.expose?.(() => held.snapshot());
      const subscription = forwardEvents(source, subscriber, (logged) => {
        const e = logged.event;
        const verdict = held === undefined ? 'new' : held.check(logged);
        if (verdict === 'repeat') subscriber.next({ kind: 'duplicate', logged });
        else subscriber.next(e.type === 'llm.usage' ? { kind: 'event', logged, cost: options.price(e) } : { kind: 'event', logged });
        if (verdict !== 'repeat') held?.settle(logged.pos);
      });
      return () => {
        subscription.unsubscribe();
        held?.clear();
      };
    });
}

/**
 * A held turn's ids: a `Set` while the turn is open, a plain array once it closed (most closed turns
 * see no other event in their grace period; an array is one object for GC to mark, not a hash table).
 */
type TurnIds = Set<string> | readonly string[];

const holds = (ids: TurnIds, id: string): boolean => (Array.isArray(ids) ? ids.includes(id) : (ids as Set<string>).has(id));

/** The ids each held turn has seen, with the turn windows' lifecycle (see `priceAndDedupe`). */
class HeldIds {
  private readonly held: HeldTurns<TurnIds>;

  constructor(options: PriceAndDedupeOptions) {
    this.held = new HeldTurns({ ...TURN_WINDOW_DEFAULTS, ...options }, options.closedTurns ?? memoryClosedTurns());
    const initial = options.state?.initial;
    if (initial !== undefined) {
      const r = new SnapshotReader('priceAndDedupe');
      const o = r.object(initial, 'the snapshot');
      if (o['v'] !== 1) r.fail('v', 'is not 1');
      this.held.restore(o['held'], r, (b, where) => r.array(b, where).map((id, i) => r.string(id, `${where}[${i}]`)));
    }
  }

  /**
   * `repeat`: its turn holds the id (the event is invisible to the clocks); `late`: its turn is not
   * held and closed before it; else `new` (now held). Unless `repeat`, call `settle` after emitting.
   */
  check({ pos, event: e }: LoggedEvent): 'new' | 'repeat' | 'late' {
    if (isTurnScoped(e)) {
      const t = this.held.get(e.session, e.turn);
      if (t !== undefined && holds(t.body, e.id)) return 'repeat';
    }
    const info = this.held.observe(e, pos);
    if (e.type === 'session.end') for (const t of this.held.openOf(e.session)) this.close(t, pos);
    if (!isTurnScoped(e)) return 'new';
    let t = this.held.get(e.session, e.turn);
    if (t === undefined) {
      if (this.held.isLate(e.session, e.turn, pos)) return 'late';
      t = this.held.hold(info, e.turn, new Set());
    }
    if (t.closedAtSession !== undefined)
      t.body = [...t.body, e.id]; // a closed turn's ids stay compact
    else {
      if (Array.isArray(t.body)) t.body = new Set(t.body); // an open turn restored from a checkpoint
      (t.body as Set<string>).add(e.id);
    }
    if (!this.held.fold(t, e.timeMs, pos) && e.type === 'turn.end') this.close(t, pos);
    return 'new';
  }

  private close(t: HeldTurn<TurnIds>, pos: number): void {
    this.held.close(t, pos);
    t.body = [...t.body];
  }

  /** As the windows do after the same event: sweep when due (idle turns close), stamp the clocks. */
  settle(pos: number): void {
    this.held.settle(pos, copyIds);
  }

  snapshot(): DedupeSnapshot {
    return { v: 1, held: this.held.snapshot((ids) => [...ids]) };
  }

  clear(): void {
    this.held.clear();
  }
}

/** A turn's ids copied as it closes (made once, not a closure per event). */
function copyIds(t: HeldTurn<TurnIds>): void {
  t.body = [...t.body];
}
