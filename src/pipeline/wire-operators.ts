import { filter, map, share, Subject } from '../streams/rx.ts';
import type { SnapshotOptions } from '../streams/operator-state.ts';
import type { LlmUsageEvent, LoggedEvent } from '../events/step-event.ts';
import type { DeadLetter } from '../events/reject-reason.ts';
import { priceUsage, type PricedCost } from '../events/price-usage.ts';
import type { TurnAggregate } from '../model/turn-aggregate.ts';
import { rollUpSessions } from '../streams/roll-up-sessions.ts';
import { toStateWrites } from '../streams/to-state-writes.ts';
import { checkBudgets, type BudgetsSnapshot } from '../streams/check-budgets.ts';
import { windowTurns, type WindowsSnapshot } from '../streams/window-turns.ts';
import { priceAndDedupe, type DedupeSnapshot } from '../streams/price-and-dedupe.ts';
import type { ClosedTurns } from '../streams/operator-state.ts';
import type { BatchEffects } from './batch-effects.ts';
import type { OpenWork } from './checkpoint-codec.ts';
import type { ProcessorOptions } from './processor-options.ts';

/** What the wired operators read from and write to their processor. */
export interface WireContext {
  readonly options: Pick<ProcessorOptions, 'prices' | 'metrics' | 'windows' | 'dedupe' | 'budgets'>;
  readonly closedTurns: ClosedTurns;
  /** Log position whose effects are durable: effects at or below it are suppressed. */
  committed(): number;
  /** Last position fed. */
  fed(): number;
  /** The current batch's effect buffers. */
  effects(): BatchEffects;
  /** Records what an operator threw (the current event is at fault). */
  fault(error: unknown): void;
  duplicateLetter(logged: LoggedEvent): DeadLetter;
  rawOf(logged: LoggedEvent): string;
  /** The windows track where each turn and session was made (a shard of a rebuild: its snapshot is merged by them). */
  readonly trackOrder?: boolean;
}

/** The wired operators: where events go in, and how to snapshot their open work. */
export interface WiredOperators {
  readonly input: Subject<LoggedEvent>;
  /** The operators' open work now (between two events). */
  snapshot(options?: SnapshotOptions): Omit<OpenWork, 'poisoned'>;
  /** Completes the operators. */
  complete(): void;
}

/**
 * Creates the operators, from `work` (a checkpoint's open work) or empty. Every callback is
 * guarded: a throw (or an operator's error, which ends its stream) is recorded as the current
 * event's fault instead of escaping to RxJS, which would report it asynchronously and end the
 * process after the batch was committed without it.
 */
// long: the one place the operators are wired to each other and to the effect buffers; every callback is guarded the same way, and reading them together is the point
export function wireOperators(ctx: WireContext, work?: Omit<OpenWork, 'poisoned'>): WiredOperators {
  const { options, closedTurns } = ctx;
  const input = new Subject<LoggedEvent>();
  const turns = new Subject<TurnAggregate>();
  const guard = <T>(next: (value: T) => void) => ({
    next: (value: T) => {
      try {
        next(value);
      } catch (error) {
        ctx.fault(error);
      }
    },
    error: (error: unknown) => ctx.fault(error),
  });
  let windows: ((o?: SnapshotOptions) => WindowsSnapshot) | undefined;
  let dedupe: (() => DedupeSnapshot) | undefined;
  let budgets: (() => BudgetsSnapshot) | undefined;
  // Pricing and dedupe are ONE upstream step: every consumer below sees the same events (repeats
  // dropped) at the same cost, whatever order they were subscribed in.
  const price = (u: LlmUsageEvent): PricedCost => {
    const priced = priceUsage(u, options.prices);
    if (!Number.isFinite(priced.cost)) throw new RangeError(`cost of ${u.provider}/${u.model} call "${u.id}" is ${priced.cost}`);
    if (priced.source === 'unpriced' && ctx.fed() > ctx.committed()) options.metrics?.recordUnpriced(u.provider, u.model);
    return priced;
  };
  const deduping = options.dedupe === true;
  const screened = input.pipe(
    priceAndDedupe({
      ...options.windows,
      dedupe: deduping,
      price,
      closedTurns,
      ...(deduping ? { state: { ...(work?.dedupe === undefined ? {} : { initial: work.dedupe }), expose: (s: () => DedupeSnapshot) => (dedupe = s) } } : {}),
    }),
    share(),
  );
  const events = screened.pipe(filter((s) => s.kind === 'event'));
  // The consumers' `price` reads the cost the upstream step computed for the event being delivered:
  // delivery is synchronous, so that is the latest event through `map` (no per-event WeakMap entry,
  // which the garbage collector had to process for every LLM call).
  let delivering: LlmUsageEvent | undefined;
  let deliveringCost: PricedCost | undefined;
  const pricedBefore = (u: LlmUsageEvent): PricedCost => (u === delivering ? deliveringCost! : price(u));
  const logged = events.pipe(
    map((s) => {
      if (s.cost !== undefined) {
        delivering = s.logged.event as LlmUsageEvent;
        deliveringCost = s.cost;
      }
      return s.logged;
    }),
    share(),
  );
  screened.pipe(filter((s) => s.kind === 'duplicate')).subscribe(
    guard((s) => {
      if (s.logged.pos > ctx.committed()) ctx.effects().letters.push(ctx.duplicateLetter(s.logged));
    }),
  );
  const windowState = {
    ...(work?.windows === undefined ? {} : { initial: work.windows }),
    expose: (s: (o?: SnapshotOptions) => WindowsSnapshot) => (windows = s),
  };
  const windowOptions = {
    ...options.windows,
    price: pricedBefore,
    closedTurns,
    state: windowState,
    quietThrough: ctx.committed,
    trackOrder: ctx.trackOrder === true,
  };
  logged.pipe(windowTurns(windowOptions)).subscribe(
    guard((out) => {
      if (out.kind === 'turn') {
        if (out.aggregate.closedAtPos > ctx.committed()) turns.next(out.aggregate);
      } else if (out.logged.pos > ctx.committed()) {
        const e = out.logged.event;
        ctx.effects().letters.push({
          reason: 'late',
          message: out.message,
          raw: ctx.rawOf(out.logged),
          source: 'pipeline',
          session: e.session,
          eventId: e.id,
          at: Date.now(),
        });
      }
    }),
  );
  logged.pipe(toStateWrites()).subscribe(
    guard((w) => {
      if (ctx.fed() > ctx.committed()) ctx.effects().writes.push(w);
    }),
  );
  if (options.budgets !== undefined && options.budgets.rules.length > 0) {
    const state = { ...(work?.budgets === undefined ? {} : { initial: work.budgets }), expose: (s: () => BudgetsSnapshot) => (budgets = s) };
    logged.pipe(checkBudgets({ rules: options.budgets.rules, price: pricedBefore, state })).subscribe(
      guard((alert) => {
        if (alert.pos > ctx.committed()) ctx.effects().alerts.push(alert);
      }),
    );
  }
  turns.subscribe(guard((a) => ctx.effects().aggregates.push(a)));
  turns.pipe(rollUpSessions()).subscribe(guard((d) => ctx.effects().deltas.push(d)));
  return {
    input,
    snapshot: (o) => ({
      windows: windows!(o),
      ...(dedupe === undefined ? {} : { dedupe: dedupe() }),
      ...(budgets === undefined ? {} : { budgets: budgets() }),
    }),
    complete: () => {
      input.complete();
      turns.complete();
    },
  };
}
