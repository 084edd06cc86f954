import type { DeadLetter } from '../events/reject-reason.ts';
import type { Logger } from '../logger.ts';
import type { BatchEffects } from './batch-effects.ts';
import type { ProcessorOptions } from './processor-options.ts';

/**
 * What a batch's effects do once its commit made them durable: its turns go out as spans and
 * metrics (a failure there loses telemetry, never processing), its budget alerts to their sink,
 * and its dead letters to the store. Letters a storage fault kept from the store wait here and go
 * with the next call (`flushLetters`, which every batch calls first).
 */
export class CommittedEffects {
  private readonly options: ProcessorOptions;
  /** Dead letters whose batch is committed but which are not stored yet (a storage fault). */
  private pending: DeadLetter[] = [];

  constructor(options: ProcessorOptions) {
    this.options = options;
  }

  private get logger(): Logger | undefined {
    return this.options.logger;
  }

  /** Exports, alerts and stores the dead letters of a batch that was just committed. */
  async deliver(effects: BatchEffects): Promise<void> {
    try {
      this.export(effects);
    } catch (error) {
      // The effects are durable; telemetry of this batch is lost, processing is not.
      this.logger?.error('exporting turn telemetry failed', { error });
    }
    if (effects.alerts.length > 0) {
      this.options.budgets?.sink.send(effects.alerts);
      for (const a of effects.alerts) this.options.metrics?.recordAlert(a);
    }
    for (const l of effects.letters) this.pending.push(l);
    await this.flushLetters();
  }

  /** Stores the dead letters still waiting; throws (keeping them) on a storage fault. */
  async flushLetters(): Promise<void> {
    if (this.pending.length === 0) return;
    const letters = this.pending;
    await this.options.deadLetters.put(letters);
    this.pending = [];
    const counts = new Map<DeadLetter['reason'], number>();
    for (const l of letters) counts.set(l.reason, (counts.get(l.reason) ?? 0) + 1);
    for (const [reason, n] of counts) {
      if (reason === 'duplicate') this.options.metrics?.recordDeduped('pipeline', n);
      this.options.metrics?.recordDeadLettered(reason, 'pipeline', n);
    }
  }

  private export({ aggregates }: BatchEffects): void {
    const { spans, metrics, onAggregate } = this.options;
    spans?.send(aggregates);
    for (const a of aggregates) {
      metrics?.recordTurn(a);
      onAggregate?.(a);
    }
    metrics?.flush();
  }
}
