import type { OperatorFunction, Subscriber } from 'rxjs';
import { Observable } from './rx.ts';
import { isTurnScoped, type LlmUsageEvent, type LoggedEvent, type TurnScopedEvent } from '../events/step-event.ts';
import type { PricedCost } from '../events/price-usage.ts';
import type { TurnAggregate, TurnStatus } from '../model/turn-aggregate.ts';
import type { SnapshotText } from './snapshot-text.ts';
import { TurnWindow, type TurnWindowSnapshot } from './turn-window.ts';
import { forwardEvents } from './forward-events.ts';
import { HeldTurns, type HeldTurn, type HeldTurnsSnapshot, type SessionEntry } from './held-turns.ts';
import { memoryClosedTurns, type ClosedTurns, type OperatorState } from './operator-state.ts';
import { SnapshotReader } from './snapshot-reader.ts';
import { DeferredSnapshots } from './deferred-snapshots.ts';
import type { SnapshotOptions } from './operator-state.ts';
import { TURN_WINDOW_DEFAULTS, type TurnTiming } from './turn-timing.ts';

// Kept here for their long-standing importers; defined in turn-timing.ts, which the dedupe step shares.
export { TURN_WINDOW_DEFAULTS, type TurnTiming };

export interface WindowTurnsOptions extends TurnTiming {
  /** Prices one LLM call (cost from the event, the price table, or 0 for subscriptions). */
  readonly price: (usage: LlmUsageEvent) => PricedCost;
  /**
   * The turns released before (lateness per turn). Default: a fresh `memoryClosedTurns()` per
   * subscription. Not part of the snapshot: a restored operator needs the one it ran with.
   */
  readonly closedTurns?: ClosedTurns;
  /** Checkpoints: the state to start from, and a way to read it between events. */
  readonly state?: OperatorState<WindowsSnapshot>;
  /**
   * Turns closed (or revised) at or below this log position are not emitted: their effects are
   * durable (a restart's rebuild). The windows change as if they were; their aggregates are built
   * only if a later revision must supersede them. Default: everything is emitted.
   */
  readonly quietThrough?: () => number;
  /** Track where each turn was held and each session made, for `snapshot({ order: true })` (a shard of a rebuild). */
  readonly trackOrder?: boolean;
}

export type WindowOutput =
  | { readonly kind: 'turn'; readonly aggregate: TurnAggregate }
  | { readonly kind: 'late'; readonly logged: LoggedEvent; readonly message: string };

/**
 * The open work of `windowTurns`: clocks, sessions, and held windows in order. JSON-safe, except for
 * texts still held as byte slices of the checkpoint they were restored from (a codec writes those).
 */
export interface WindowsSnapshot {
  readonly v: 2;
  /** Held windows: an open one as its snapshot, a closed one (held for its grace period) as an index into `texts`. */
  readonly held: HeldTurnsSnapshot<TurnWindowSnapshot | number>;
  /**
   * Closed windows' snapshots as JSON text (slices of UTF-8 bytes after a restore from bytes): a restore keeps
   * the text and parses it only if the turn sees another event (most never do). Apart from the rest,
   * so a checkpoint can store them outside its JSON document and hand them back as bytes unparsed.
   */
  readonly texts: readonly SnapshotText[];
}

/**
 * Turn windows keyed by (session, turn): many sessions and several open turns per session at once.
 *
 * Time is event time only, which makes the output a pure function of the input order (and of the
 * `closedTurns` answers): replay gives the same aggregates, at the same positions. A window opens at
 * `turn.start` or the first event of a turn not held, and closes at `turn.end` (`completed`), at its
 * `session.end` (`abandoned`), or idle (`abandoned`) at a sweep. An event of a closed turn still held
 * (within `graceMs`) re-emits the turn with `revision + 1`. An event of a turn not held is `late` (for
 * the dead-letter store, never dropped) only when that turn closed before it and was released;
 * otherwise it opens a window, however old it is: lateness belongs to the turn, and a session never
 * seen before (a history import, a lagging producer) is processed normally. The clocks that decide
 * idling, release and the sweep schedule are those of `HeldTurns`, shared with `priceAndDedupe`.
 * Repeated events must be dropped before (`priceAndDedupe`): the windows fold in what they get.
 *
 * Emits synchronously while processing each input. Completes when the source completes, without
 * closing open turns (they are not over; a restart restores them from a checkpoint or rebuilds them
 * from the log). Errors pass through. With `state.initial`, starts from that snapshot; one that is
 * not structurally valid makes the output error at subscription, before any event.
 */
export function windowTurns(options: WindowTurnsOptions): OperatorFunction<LoggedEvent, WindowOutput> {
  return (source) =>
    new Observable<WindowOutput>((subscriber) => {
      const windows = new TurnWindows(options, subscriber);
      options.state?.expose?.((o) => windows.snapshot(o));
      const subscription = forwardEvents(source, subscriber, (logged) => windows.onEvent(logged));
      return () => {
        subscription.unsubscribe();
        windows.clear();
      };
    });
}

/** The state of one subscription of `windowTurns`. */
class TurnWindows {
  private readonly graceMs: number;
  private readonly price: (usage: LlmUsageEvent) => PricedCost;
  private readonly out: Subscriber<WindowOutput>;
  private readonly held: HeldTurns<TurnWindow>;
  private readonly quietThrough: (() => number) | undefined;
  /** Reads the snapshot texts of compacted closed windows back (they are this operator's own). */
  private readonly reader = new SnapshotReader('windowTurns');

  constructor(options: WindowTurnsOptions, out: Subscriber<WindowOutput>) {
    const timing = { ...TURN_WINDOW_DEFAULTS, ...options };
    this.graceMs = timing.graceMs;
    this.price = options.price;
    this.out = out;
    this.quietThrough = options.quietThrough;
    this.held = new HeldTurns(timing, options.closedTurns ?? memoryClosedTurns(), options.trackOrder === true);
    const initial = options.state?.initial;
    if (initial !== undefined) {
      const r = new SnapshotReader('windowTurns');
      const o = r.object(initial, 'the snapshot');
      if (o['v'] !== 2) r.fail('v', 'is not 2');
      const texts = r.array(o['texts'], 'texts');
      this.held.restore(o['held'], r, (b, where, session, turn) => {
        if (b instanceof TurnWindow) return b; // a `live` snapshot's window, handed over
        if (typeof b !== 'number') return TurnWindow.restore(session, turn, b, r, where);
        const text = texts[b];
        if (typeof text === 'string' || (typeof text === 'object' && text !== null && 'bytes' in text))
          return TurnWindow.restoreText(session, turn, text as SnapshotText, r, where);
        return r.fail(where, `names text ${b}, which the snapshot does not hold`);
      });
    }
  }

  onEvent(logged: LoggedEvent): void {
    const e = logged.event;
    const info = this.held.observe(e, logged.pos);
    if (e.type === 'session.end') {
      for (const h of this.held.openOf(e.session)) this.close(h, 'abandoned', logged.pos, info);
    } else if (isTurnScoped(e)) this.onTurnEvent(logged, e, info);
    this.held.settle(logged.pos, this.emitAbandoned);
  }

  /** Folds a turn-scoped event into its window, or emits it as late. */
  private onTurnEvent(logged: LoggedEvent, e: TurnScopedEvent, info: SessionEntry<TurnWindow>): void {
    // The session's entry is at hand (`observe` returned it): one lookup, not `held.get`'s two.
    let h = info.turns.get(e.turn);
    if (h === undefined) {
      if (this.held.isLate(e.session, e.turn, logged.pos)) {
        const message = `turn "${e.turn}" of session "${e.session}" closed before this event and its grace period (${this.graceMs} ms) has passed`;
        this.out.next({ kind: 'late', logged, message });
        return;
      }
      h = this.held.hold(info, e.turn, new TurnWindow(info.id, e.turn));
    }
    h.body.add(e, this.price);
    if (this.held.fold(h, e.timeMs, logged.pos)) this.emit(h, 'abandoned');
    else if (e.type === 'turn.end') this.close(h, 'completed', logged.pos, info);
  }

  private close(h: HeldTurn<TurnWindow>, status: 'completed' | 'abandoned', pos: number, info: SessionEntry<TurnWindow>): void {
    this.held.close(h, pos);
    this.emitAt(h, status, pos, info);
  }

  /** `emit(h, 'abandoned')`, made once rather than a closure per event. */
  private readonly emitAbandoned = (h: HeldTurn<TurnWindow>): void => this.emit(h, 'abandoned');

  /** Emits a closed window's aggregate at its `closedAtPos` (an idle close, or a revision). */
  private emit(h: HeldTurn<TurnWindow>, status: 'abandoned'): void {
    this.emitAt(h, status, h.closedAtPos, this.held.sessions.get(h.session));
  }

  private emitAt(h: HeldTurn<TurnWindow>, status: TurnStatus, pos: number, session: SessionEntry<TurnWindow> | undefined): void {
    if (this.quietThrough !== undefined && pos <= this.quietThrough()) {
      // Not compacted either: in a rebuild most closed turns are released before a checkpoint would
      // write their text, so making it for each cost a JSON.stringify of every turn of the log.
      h.body.emitQuietly(status, pos, session);
      return;
    }
    this.out.next({ kind: 'turn', aggregate: h.body.emit(status, pos, session) });
    h.body = h.body.compacted(this.reader);
  }

  /**
   * `deferred`: each open window's snapshot is a stand-in that `JSON.stringify` writes as the window
   * was now (see `DeferredSnapshots`); for a checkpoint encoded over the batches after it is taken.
   * `order`: with where each session and turn was made (a shard of a rebuild, see `mergeHeldSnapshots`).
   */
  snapshot(options?: SnapshotOptions): WindowsSnapshot {
    const texts: SnapshotText[] = [];
    const deferred = options?.deferred === true ? new DeferredSnapshots() : undefined;
    const live = options?.live === true;
    const held = this.held.snapshot((w, closed) => {
      if (live) return w as unknown as TurnWindowSnapshot; // restored as it is (see the constructor)
      if (closed) return texts.push(w.snapshotText()) - 1;
      // Written as the snapshot it stands for (toJSON); only a JSON encoder reads it.
      return deferred === undefined ? w.snapshot() : (deferred.defer(w) as unknown as TurnWindowSnapshot);
    }, options?.order === true);
    return { v: 2, held, texts };
  }

  clear(): void {
    this.held.clear();
  }
}
