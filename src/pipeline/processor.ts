import { filter, map, share, Subject } from 'rxjs';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import type { LlmUsageEvent, LoggedEvent } from '../events/step-event.ts';
import type { DeadLetter } from '../events/reject-reason.ts';
import { priceUsage, type PricedCost } from '../events/price-usage.ts';
import type { PriceTable } from '../events/price-table.ts';
import type { EventLog } from '../log/event-log.ts';
import type { DeadLetterStore } from '../log/dead-letter-store.ts';
import type { StateCommitTarget } from '../state/session-state-store.ts';
import type { TurnAggregate } from '../model/turn-aggregate.ts';
import { rollUpSessions } from '../streams/roll-up-sessions.ts';
import { toStateWrites } from '../streams/to-state-writes.ts';
import { checkBudgets } from '../streams/check-budgets.ts';
import type { BudgetRule } from '../streams/budget-rule.ts';
import type { AlertSink } from '../exporters/alert-sinks.ts';
import { windowTurns, type TurnTiming } from '../streams/window-turns.ts';
import { priceAndDedupe } from '../streams/price-and-dedupe.ts';
import { buildTurnSpans, type TurnSpanContext } from '../exporters/turn-spans.ts';
import type { PipelineMetrics } from '../exporters/pipeline-metrics.ts';
import type { Logger } from '../logger.ts';
import { unreadable } from '../log/unreadable-event.ts';
import { nonFinite, screenLoggedEvent } from './screen-logged-event.ts';
import { storageFault } from '../log/storage-fault.ts';
import { describe, FeedFault, noEffects, tryStringify, type BatchEffects } from './batch-effects.ts';

export type { BatchEffects } from './batch-effects.ts';

export interface ProcessorOptions {
  /** Where `start()`/`catchUp()` read from; not needed when batches are pushed (`restore()` + `process()`). */
  readonly log?: EventLog;
  /** Where effects are committed: only `commit` and `position` are used. */
  readonly state: StateCommitTarget;
  readonly deadLetters: DeadLetterStore;
  readonly prices: PriceTable;
  readonly metrics?: PipelineMetrics;
  readonly spans?: SpanProcessor;
  readonly spanContext?: TurnSpanContext;
  readonly windows?: TurnTiming;
  readonly logger?: Logger;
  /** Live budget rules and where their alerts go (after the batch's effects are committed). */
  readonly budgets?: { readonly rules: readonly BudgetRule[]; readonly sink: AlertSink };
  /** Deduplicate by event id in the turn windows (for logs that do not dedupe on append). */
  readonly dedupe?: boolean;
  /** Called with every aggregate that takes effect (tests, benchmarks, alerting). */
  readonly onAggregate?: (a: TurnAggregate) => void;
  /** The stored text at a log position: the raw bytes of a `processing_error` dead letter. */
  readonly rawAt?: (pos: number) => string | undefined;
}

/**
 * Runs the stream operators over log batches and makes their effects durable: state writes,
 * roll-up deltas and turn aggregates are committed with the batch's last log position in one
 * transaction; then spans and metrics are exported and late events dead-lettered.
 *
 * Exactly-once effect: on `start()` the processor re-reads the log from the beginning to rebuild
 * its windows, but suppresses every effect at or below the committed position, so a restart after
 * a crash neither loses nor double-counts. Batches must be given in log order.
 *
 * No poison pill: an event that cannot be processed is dead-lettered as `processing_error` and
 * skipped; the events around it are processed as if it were not in the log. Most such events are
 * caught before they reach the operators (`screenLoggedEvent`, deterministic, so a restart skips the
 * same ones). Anything else that throws while feeding or committing a batch, except a storage
 * fault, makes the processor isolate the event at fault: it rebuilds its windows from the log up to
 * the committed position and processes the rest event by event, each with its own commit; the one
 * that throws is dead-lettered and skipped. A storage fault (disk full, read-only, I/O) is thrown
 * to the caller with the batch's effects kept: a later `process` call (even with no events)
 * commits them, so retrying after the fault clears loses nothing.
 */
export class Processor {
  private readonly options: ProcessorOptions;
  private input = new Subject<LoggedEvent>();
  private turns = new Subject<TurnAggregate>();
  private effects: BatchEffects = noEffects();
  /** Dead letters whose batch is committed but which are not stored yet (a storage fault). */
  private pendingLetters: DeadLetter[] = [];
  /** Log position whose effects are durable. Effects at or below it are suppressed. */
  private committed = 0;
  /** Last position fed to the operators. */
  private fed = 0;
  /** What the operators threw while the current event was fed. */
  private fault: { readonly error: unknown } | undefined;
  /** Events found to be at fault in this process (by position): skipped whenever the log is re-fed. */
  private readonly poisoned = new Map<number, string>();
  /** Events dead-lettered as `processing_error` since start (for the health endpoint and logs). */
  rejected = 0;

  constructor(options: ProcessorOptions) {
    this.options = options;
    this.wire();
  }

  /**
   * (Re)creates the operators. Every callback is guarded: a throw (or an operator's error, which
   * ends its stream) is recorded as the current event's fault instead of escaping to RxJS, which
   * would report it asynchronously and end the process after the batch was committed without it.
   */
  // long: the one place the operators are wired to each other and to the effect buffers; every callback is guarded the same way, and reading them together is the point
  private wire(): void {
    const { options } = this;
    this.input.complete();
    this.turns.complete();
    const input = new Subject<LoggedEvent>();
    const turns = new Subject<TurnAggregate>();
    this.input = input;
    this.turns = turns;
    const guard = <T>(next: (value: T) => void) => ({
      next: (value: T) => {
        try {
          next(value);
        } catch (error) {
          this.fault ??= { error };
        }
      },
      error: (error: unknown) => {
        this.fault ??= { error };
      },
    });
    // Pricing and dedupe are ONE upstream step: every consumer below sees the same events (repeats
    // dropped) at the same cost, whatever order they were subscribed in.
    const price = (u: LlmUsageEvent): PricedCost => {
      const priced = priceUsage(u, options.prices);
      if (!Number.isFinite(priced.cost)) throw new RangeError(`cost of ${u.provider}/${u.model} call "${u.id}" is ${priced.cost}`);
      if (priced.source === 'unpriced' && this.fed > this.committed) options.metrics?.recordUnpriced(u.provider, u.model);
      return priced;
    };
    const screened = input.pipe(priceAndDedupe({ ...options.windows, ...(options.dedupe === undefined ? {} : { dedupe: options.dedupe }), price }), share());
    const events = screened.pipe(filter((s) => s.kind === 'event'));
    // The consumers' `price` reads the cost the upstream step computed for the event being delivered.
    const costs = new WeakMap<LlmUsageEvent, PricedCost>();
    const pricedBefore = (u: LlmUsageEvent): PricedCost => costs.get(u) ?? price(u);
    const logged = events.pipe(
      map((s) => {
        if (s.cost !== undefined) costs.set(s.logged.event as LlmUsageEvent, s.cost);
        return s.logged;
      }),
      share(),
    );
    screened.pipe(filter((s) => s.kind === 'duplicate')).subscribe(
      guard((s) => {
        if (s.logged.pos > this.committed) this.effects.letters.push(this.duplicateLetter(s.logged));
      }),
    );
    logged.pipe(windowTurns({ ...options.windows, price: pricedBefore })).subscribe(
      guard((out) => {
        if (out.kind === 'turn') {
          if (out.aggregate.closedAtPos > this.committed) turns.next(out.aggregate);
        } else if (out.logged.pos > this.committed) {
          const e = out.logged.event;
          this.effects.letters.push({
            reason: 'late',
            message: out.message,
            raw: this.rawOf(out.logged),
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
        if (this.fed > this.committed) this.effects.writes.push(w);
      }),
    );
    if (options.budgets !== undefined && options.budgets.rules.length > 0) {
      logged.pipe(checkBudgets({ rules: options.budgets.rules, price: pricedBefore })).subscribe(
        guard((alert) => {
          if (alert.pos > this.committed) this.effects.alerts.push(alert);
        }),
      );
    }
    turns.subscribe(guard((a) => this.effects.aggregates.push(a)));
    turns.pipe(rollUpSessions()).subscribe(guard((d) => this.effects.deltas.push(d)));
  }

  private duplicateLetter(logged: LoggedEvent): DeadLetter {
    const e = logged.event;
    const message = `event id "${e.id}" was already processed in turn "${'turn' in e ? e.turn : ''}"`;
    return { reason: 'duplicate', message, raw: this.rawOf(logged), source: 'pipeline', session: e.session, eventId: e.id, at: Date.now() };
  }

  /** The event as logged, for a dead letter: the stored text where the log can give it. */
  private rawOf(logged: LoggedEvent): string {
    const stored = this.options.rawAt?.(logged.pos);
    if (stored !== undefined) return stored;
    const bad = unreadable(logged.event);
    if (bad !== undefined) return bad.raw;
    const { timeMs: _t, ...raw } = logged.event;
    return tryStringify(raw) ?? `(event at log position ${logged.pos} cannot be serialised; it stays in the log)`;
  }

  get position(): number {
    return this.fed;
  }

  /** Rebuilds windows from the log and catches up to its head. Resolves when caught up. */
  async start(): Promise<void> {
    await this.restore();
    await this.catchUp();
  }

  /**
   * Reads the committed position only: for sources that re-deliver the log themselves (a Kafka
   * consumer starting a partition at offset 0); effects up to that position are suppressed.
   */
  async restore(): Promise<void> {
    this.committed = await this.options.state.position();
  }

  /** Log position whose effects are durable. */
  get committedPosition(): number {
    return this.committed;
  }

  /** Reads and processes whatever the log holds beyond what was fed (e.g. after external appends). */
  async catchUp(): Promise<void> {
    if (this.options.log === undefined) return;
    for await (const batch of this.options.log.read({ after: this.fed })) await this.process(batch);
  }

  /**
   * Feeds one batch (in log order) and makes its effects durable and exported. Throws only for a
   * storage fault (see the class comment), or where there is no log to isolate a poison event with.
   */
  async process(batch: readonly LoggedEvent[]): Promise<BatchEffects> {
    try {
      return await this.processOnce(batch);
    } catch (error) {
      if (storageFault(error) !== undefined || this.options.log === undefined) throw error;
      return await this.isolate(Math.max(this.fed, batch.at(-1)?.pos ?? 0), error);
    }
  }

  private feed(logged: LoggedEvent): void {
    if (logged.pos <= this.fed) return; // already fed: idempotent on overlap
    this.fed = logged.pos;
    const rejected = this.poisoned.get(logged.pos) ?? screenLoggedEvent(logged.event);
    if (rejected !== undefined) {
      this.poisoned.set(logged.pos, rejected);
      if (logged.pos > this.committed) this.reject(logged, rejected);
      return;
    }
    this.fault = undefined;
    this.input.next(logged);
    const fault = this.takeFault();
    if (fault !== undefined) throw new FeedFault(logged.pos, fault.error);
  }

  private takeFault(): { readonly error: unknown } | undefined {
    const fault = this.fault;
    this.fault = undefined;
    return fault;
  }

  private reject(logged: LoggedEvent, message: string): void {
    const e = logged.event as unknown as Record<string, unknown>;
    this.rejected++;
    this.options.logger?.warn('event cannot be processed; dead-lettered as processing_error, processing goes on', {
      pos: logged.pos,
      eventId: e['id'],
      error: message,
    });
    this.effects.letters.push({
      reason: 'processing_error',
      message,
      raw: this.rawOf(logged),
      source: 'pipeline',
      ...(typeof e['session'] === 'string' ? { session: e['session'] } : {}),
      ...(typeof e['id'] === 'string' ? { eventId: e['id'] } : {}),
      at: Date.now(),
    });
  }

  private async processOnce(batch: readonly LoggedEvent[]): Promise<BatchEffects> {
    await this.flushLetters();
    for (const logged of batch) this.feed(logged);
    const effects = this.effects;
    this.effects = noEffects();
    if (this.fed <= this.committed) return effects;
    const turns = effects.aggregates.map(({ supersedes: _s, ...a }) => a);
    // Never commit a non-finite number: JSON would store it as null and every reader would break.
    const bad = nonFinite(effects.deltas) ?? nonFinite(turns);
    if (bad !== undefined) throw new RangeError(`the batch's totals would hold ${bad}`);
    try {
      await this.options.state.commit({ writes: effects.writes, deltas: effects.deltas, turns, position: this.fed });
    } catch (error) {
      // Kept for the next call: with a storage fault the caller retries, and a later batch commits
      // these effects along with its own (nothing was fed since: calls are sequential).
      this.effects = effects;
      throw error;
    }
    this.committed = this.fed;
    try {
      this.export(effects.aggregates);
    } catch (error) {
      // The effects are durable; telemetry of this batch is lost, processing is not.
      this.options.logger?.error('exporting turn telemetry failed', { error });
    }
    if (effects.alerts.length > 0) {
      this.options.budgets?.sink.send(effects.alerts);
      for (const a of effects.alerts) this.options.metrics?.recordAlert(a);
    }
    for (const l of effects.letters) this.pendingLetters.push(l);
    await this.flushLetters();
    return effects;
  }

  private async flushLetters(): Promise<void> {
    if (this.pendingLetters.length === 0) return;
    const letters = this.pendingLetters;
    await this.options.deadLetters.put(letters);
    this.pendingLetters = [];
    const counts = new Map<DeadLetter['reason'], number>();
    for (const l of letters) counts.set(l.reason, (counts.get(l.reason) ?? 0) + 1);
    for (const [reason, n] of counts) {
      if (reason === 'duplicate') this.options.metrics?.recordDeduped('pipeline', n);
      this.options.metrics?.recordDeadLettered(reason, 'pipeline', n);
    }
  }

  /**
   * Finds and skips the event at fault after a batch failed with `error` (not a storage fault):
   * rebuilds the windows up to the committed position, then processes the log event by event up
   * to `target`, each with its own commit; an event whose processing throws is dead-lettered.
   */
  private async isolate(target: number, error: unknown): Promise<BatchEffects> {
    this.options.logger?.warn('processing a batch failed; isolating the event at fault', { error: describe(error), committed: this.committed, target });
    if (error instanceof FeedFault) this.poisoned.set(error.pos, describe(error.cause));
    await this.rebuild();
    const all = noEffects();
    for await (const batch of this.options.log!.read({ after: this.committed, batchSize: 500 })) {
      for (const logged of batch) {
        if (logged.pos > target) return all;
        let effects: BatchEffects;
        try {
          effects = await this.processOnce([logged]);
        } catch (single) {
          if (storageFault(single) !== undefined) throw single;
          this.poisoned.set(logged.pos, describe(single instanceof FeedFault ? single.cause : single));
          await this.rebuild();
          effects = await this.processOnce([logged]); // now rejected by `feed`: commits its dead letter
        }
        for (const k of Object.keys(all) as (keyof BatchEffects)[]) (all[k] as unknown[]).push(...effects[k]);
      }
    }
    return all;
  }

  /** Fresh operators fed from the log up to the committed position (effects suppressed). */
  private async rebuild(): Promise<void> {
    for (;;) {
      this.wire();
      this.fed = 0;
      this.effects = noEffects();
      try {
        read: for await (const batch of this.options.log!.read({ after: 0 })) {
          for (const logged of batch) {
            if (logged.pos > this.committed) break read;
            this.feed(logged);
          }
        }
        this.fed = Math.max(this.fed, this.committed);
        this.effects = noEffects();
        return;
      } catch (error) {
        if (!(error instanceof FeedFault)) throw error;
        // Processed (and committed) by an earlier run, but it throws now: skip it from here on.
        this.poisoned.set(error.pos, describe(error.cause));
      }
    }
  }

  private export(aggregates: readonly TurnAggregate[]): void {
    const { spans, spanContext, metrics, onAggregate } = this.options;
    for (const a of aggregates) {
      if (spans !== undefined && spanContext !== undefined) for (const s of buildTurnSpans(a, spanContext)) spans.onEnd(s);
      metrics?.recordTurn(a);
      onAggregate?.(a);
    }
    metrics?.flush();
  }

  /** Completes the operators. Open turns stay open in the log; a restart rebuilds them. */
  stop(): void {
    this.input.complete();
    this.turns.complete();
  }
}
