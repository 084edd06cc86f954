import { filter, Subject } from 'rxjs';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import type { LlmUsageEvent, LoggedEvent } from '../events/step-event.ts';
import type { DeadLetter } from '../events/reject-reason.ts';
import { priceUsage, type PricedCost } from '../events/price-usage.ts';
import type { PriceTable } from '../events/price-table.ts';
import type { EventLog } from '../log/event-log.ts';
import type { DeadLetterStore } from '../log/dead-letter-store.ts';
import type { SessionStateStore, StateWrite } from '../state/session-state-store.ts';
import type { SessionDelta } from '../streams/session-totals.ts';
import type { TurnAggregate } from '../streams/turn-aggregate.ts';
import { rollUpSessions } from '../streams/roll-up-sessions.ts';
import { toStateWrites } from '../streams/to-state-writes.ts';
import { checkBudgets } from '../streams/check-budgets.ts';
import type { BudgetAlert, BudgetRule } from '../streams/budget-rule.ts';
import type { AlertSink } from '../exporters/alert-sinks.ts';
import { windowTurns, type WindowTurnsOptions } from '../streams/window-turns.ts';
import { buildTurnSpans, type TurnSpanContext } from '../exporters/turn-spans.ts';
import type { PipelineMetrics } from '../exporters/pipeline-metrics.ts';
import type { Logger } from '../logger.ts';

export interface ProcessorOptions {
  /** Where `start()`/`catchUp()` read from; not needed when batches are pushed (`restore()` + `process()`). */
  readonly log?: EventLog;
  readonly state: SessionStateStore;
  readonly deadLetters: DeadLetterStore;
  readonly prices: PriceTable;
  readonly metrics?: PipelineMetrics;
  readonly spans?: SpanProcessor;
  readonly spanContext?: TurnSpanContext;
  readonly windows?: Omit<WindowTurnsOptions, 'price'>;
  readonly logger?: Logger;
  /** Live budget rules and where their alerts go (after the batch's effects are committed). */
  readonly budgets?: { readonly rules: readonly BudgetRule[]; readonly sink: AlertSink };
  /** Deduplicate by event id in the turn windows (for logs that do not dedupe on append). */
  readonly dedupe?: boolean;
  /** Called with every aggregate that takes effect (tests, benchmarks, alerting). */
  readonly onAggregate?: (a: TurnAggregate) => void;
}

/** What one processed batch produced. */
export interface BatchEffects {
  readonly aggregates: TurnAggregate[];
  readonly writes: StateWrite[];
  readonly deltas: SessionDelta[];
  readonly letters: DeadLetter[];
  readonly alerts: BudgetAlert[];
}

/**
 * Runs the stream operators over log batches and makes their effects durable: state writes,
 * roll-up deltas and turn aggregates are committed with the batch's last log position in one
 * transaction; then spans and metrics are exported and late events dead-lettered.
 *
 * Exactly-once effect: on `start()` the processor re-reads the log from the beginning to rebuild
 * its windows, but suppresses every effect at or below the committed position, so a restart after
 * a crash neither loses nor double-counts. Batches must be given in log order.
 */
export class Processor {
  private readonly options: ProcessorOptions;
  private readonly input = new Subject<LoggedEvent>();
  private readonly turns = new Subject<TurnAggregate>();
  private effects: BatchEffects = { aggregates: [], writes: [], deltas: [], letters: [], alerts: [] };
  /** Log position whose effects are durable. Effects at or below it are suppressed. */
  private committed = 0;
  /** Whether the windows found the event being fed to be a repeat (at-least-once logs). */
  private duplicate = false;
  /** Last position fed to the operators. */
  private fed = 0;

  constructor(options: ProcessorOptions) {
    this.options = options;
    // Each LLM call is priced once per event, though two operators (windows, budgets) need its cost:
    // both see the event in the same synchronous `next`, so a one-entry memo is enough.
    let pricedEvent: LlmUsageEvent | undefined;
    let pricedCost: PricedCost = { cost: 0, source: 'unpriced' };
    const price = (u: LlmUsageEvent): PricedCost => {
      if (u === pricedEvent) return pricedCost;
      pricedEvent = u;
      pricedCost = priceUsage(u, options.prices);
      if (pricedCost.source === 'unpriced' && this.fed > this.committed) options.metrics?.recordUnpriced(u.provider, u.model);
      return pricedCost;
    };
    this.input.pipe(windowTurns({ ...options.windows, ...(options.dedupe === undefined ? {} : { dedupe: options.dedupe }), price })).subscribe((out) => {
      if (out.kind === 'duplicate') this.duplicate = true;
      if (out.kind === 'turn') {
        if (out.aggregate.closedAtPos > this.committed) this.turns.next(out.aggregate);
      } else if (out.logged.pos > this.committed) {
        const e = out.logged.event;
        const { timeMs: _t, ...raw } = e;
        this.effects.letters.push(
          out.kind === 'late'
            ? { reason: 'late', message: out.message, raw: JSON.stringify(raw), source: 'pipeline', session: e.session, eventId: e.id, at: Date.now() }
            : { reason: 'duplicate', message: `event id "${e.id}" was already processed in turn "${'turn' in e ? e.turn : ''}"`, raw: JSON.stringify(raw), source: 'pipeline', session: e.session, eventId: e.id, at: Date.now() },
        );
      }
    });
    this.input.pipe(toStateWrites()).subscribe((w) => {
      if (this.fed > this.committed) this.effects.writes.push(w);
    });
    if (options.budgets !== undefined && options.budgets.rules.length > 0) {
      // After the windows in subscription order: a repeat the windows just dropped costs nothing twice.
      this.input.pipe(filter(() => !this.duplicate), checkBudgets({ rules: options.budgets.rules, price })).subscribe((alert) => {
        if (alert.pos > this.committed) this.effects.alerts.push(alert);
      });
    }
    this.turns.subscribe((a) => this.effects.aggregates.push(a));
    this.turns.pipe(rollUpSessions()).subscribe((d) => this.effects.deltas.push(d));
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

  /** Feeds one batch (in log order) and makes its effects durable and exported. */
  async process(batch: readonly LoggedEvent[]): Promise<BatchEffects> {
    for (const logged of batch) {
      if (logged.pos <= this.fed) continue; // already fed: idempotent on overlap
      this.fed = logged.pos;
      this.duplicate = false;
      this.input.next(logged);
    }
    const effects = this.effects;
    this.effects = { aggregates: [], writes: [], deltas: [], letters: [], alerts: [] };
    if (this.fed <= this.committed) return effects;
    await this.options.state.commit({
      writes: effects.writes,
      deltas: effects.deltas,
      turns: effects.aggregates.map(({ supersedes: _s, ...a }) => a),
      position: this.fed,
    });
    this.committed = this.fed;
    if (effects.letters.length > 0) {
      await this.options.deadLetters.put(effects.letters);
      const duplicates = effects.letters.filter((l) => l.reason === 'duplicate').length;
      if (duplicates > 0) {
        this.options.metrics?.recordDeduped('pipeline', duplicates);
        this.options.metrics?.recordDeadLettered('duplicate', 'pipeline', duplicates);
      }
      if (effects.letters.length > duplicates) this.options.metrics?.recordDeadLettered('late', 'pipeline', effects.letters.length - duplicates);
    }
    this.export(effects.aggregates);
    if (effects.alerts.length > 0) {
      this.options.budgets?.sink.send(effects.alerts);
      for (const a of effects.alerts) this.options.metrics?.recordAlert(a);
    }
    return effects;
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
