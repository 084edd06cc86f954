import type { DecodeLimits } from '../events/decode-event.ts';
import type { PriceTable } from '../events/price-table.ts';
import type { AlertSink } from '../exporters/alert-sinks.ts';
import type { Telemetry } from '../exporters/create-telemetry.ts';
import type { PipelineMetrics } from '../exporters/pipeline-metrics.ts';
import type { Logger } from '../logger.ts';
import type { BudgetRule } from '../streams/budget-rule.ts';
import type { TurnAggregate } from '../model/turn-aggregate.ts';
import type { CheckpointOptions, ProcessorOptions } from './processor.ts';
import type { PumpOptions } from './pump.ts';

/** What every pipeline (embedded or Kafka) is configured with, whatever its storage. */
export interface PipelineOptions {
  readonly prices: PriceTable;
  readonly telemetry?: Telemetry;
  readonly limits?: DecodeLimits;
  readonly turnIdleTimeoutMs?: number;
  readonly graceMs?: number;
  readonly logger?: Logger;
  readonly onAggregate?: (a: TurnAggregate) => void;
  /** Live budget rules and where their alerts go. */
  readonly budgets?: { readonly rules: readonly BudgetRule[]; readonly sink: AlertSink };
  /** How often the processor checkpoints its open work. */
  readonly checkpoints?: CheckpointOptions;
  /** How processing retries a storage fault (embedded mode). */
  readonly retry?: PumpOptions;
}

/**
 * The storage-independent part of a `Processor`'s options, from the pipeline options: windows,
 * metrics, spans (only when traces are exported), budgets. One place, so both pipelines process
 * alike.
 */
export function processorOptions(
  o: PipelineOptions,
  metrics: PipelineMetrics | undefined,
  logger: Logger,
): Omit<ProcessorOptions, 'state' | 'deadLetters' | 'log'> {
  return {
    prices: o.prices,
    logger,
    windows: {
      ...(o.turnIdleTimeoutMs === undefined ? {} : { turnIdleTimeoutMs: o.turnIdleTimeoutMs }),
      ...(o.graceMs === undefined ? {} : { graceMs: o.graceMs }),
    },
    ...(metrics === undefined ? {} : { metrics }),
    ...(o.checkpoints === undefined ? {} : { checkpoints: o.checkpoints }),
    ...(o.telemetry?.turnSpans === undefined ? {} : { spans: o.telemetry.turnSpans }),
    ...(o.onAggregate === undefined ? {} : { onAggregate: o.onAggregate }),
    ...(o.budgets === undefined ? {} : { budgets: o.budgets }),
  };
}
