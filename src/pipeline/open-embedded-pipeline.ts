import { DEFAULT_DECODE_LIMITS, type DecodeLimits } from '../events/decode-event.ts';
import type { PriceTable } from '../events/price-table.ts';
import { createPipelineMetrics, type PipelineMetrics } from '../exporters/pipeline-metrics.ts';
import type { Telemetry } from '../exporters/create-telemetry.ts';
import type { SyncMode } from '../log/open-sqlite.ts';
import { silentLogger, type Logger } from '../logger.ts';
import { lockDataDir } from '../state/data-dir-lock.ts';
import { openEmbeddedStore, type EmbeddedStore } from '../state/open-embedded-store.ts';
import type { TurnAggregate } from '../streams/turn-aggregate.ts';
import type { BudgetRule } from '../streams/budget-rule.ts';
import type { AlertSink } from '../exporters/alert-sinks.ts';
import { Ingestor } from './ingestor.ts';
import { Processor } from './processor.ts';
import { Pump } from './pump.ts';

export interface EmbeddedPipelineOptions {
  readonly dataDir: string;
  readonly prices: PriceTable;
  readonly sync?: SyncMode;
  readonly telemetry?: Telemetry;
  readonly limits?: DecodeLimits;
  readonly turnIdleTimeoutMs?: number;
  readonly graceMs?: number;
  readonly logger?: Logger;
  readonly onAggregate?: (a: TurnAggregate) => void;
  readonly budgets?: { readonly rules: readonly BudgetRule[]; readonly sink: AlertSink };
}

export interface EmbeddedPipeline {
  readonly store: EmbeddedStore;
  readonly ingestor: Ingestor;
  readonly processor: Processor;
  readonly pump: Pump;
  readonly metrics: PipelineMetrics | undefined;
  /** Processes what is queued, flushes telemetry, releases the data dir. Idempotent. */
  close(): Promise<void>;
}

/**
 * The embedded default, assembled: one SQLite store (log, state, dead letters) locked to this
 * process, the processor caught up with the log, and an ingestor whose appends feed the processor.
 */
export async function openEmbeddedPipeline(o: EmbeddedPipelineOptions): Promise<EmbeddedPipeline> {
  const logger = o.logger ?? silentLogger;
  const store = openEmbeddedStore({ dataDir: o.dataDir, ...(o.sync === undefined ? {} : { sync: o.sync }) });
  let lock: { release(): void };
  try {
    lock = lockDataDir(o.dataDir);
  } catch (error) {
    store.close();
    throw error;
  }
  const metrics = o.telemetry === undefined ? undefined : createPipelineMetrics(o.telemetry.meter);
  const processor = new Processor({
    log: store.log,
    state: store.state,
    deadLetters: store.deadLetters,
    prices: o.prices,
    logger,
    windows: {
      ...(o.turnIdleTimeoutMs === undefined ? {} : { turnIdleTimeoutMs: o.turnIdleTimeoutMs }),
      ...(o.graceMs === undefined ? {} : { graceMs: o.graceMs }),
    },
    ...(metrics === undefined ? {} : { metrics }),
    ...(o.telemetry?.spans === undefined ? {} : { spans: o.telemetry.spans, spanContext: { resource: o.telemetry.resource, scope: o.telemetry.scope } }),
    ...(o.onAggregate === undefined ? {} : { onAggregate: o.onAggregate }),
    ...(o.budgets === undefined ? {} : { budgets: o.budgets }),
  });
  const pump = new Pump(processor, logger);
  try {
    await processor.start();
  } catch (error) {
    lock.release();
    store.close();
    throw error;
  }
  const ingestor = new Ingestor({
    log: store.log,
    deadLetters: store.deadLetters,
    limits: o.limits ?? DEFAULT_DECODE_LIMITS,
    onAppended: (batch) => pump.push(batch),
    ...(metrics === undefined ? {} : { metrics }),
  });
  metrics?.observeLag(() => store.log.headSync() - processor.position);
  let closing: Promise<void> | undefined;
  return {
    store,
    ingestor,
    processor,
    pump,
    metrics,
    close: () => {
      closing ??= (async () => {
        try {
          await pump.idle();
          processor.stop();
          await o.telemetry?.forceFlush();
          await o.budgets?.sink.shutdown();
        } finally {
          lock.release();
          store.close();
        }
      })();
      return closing;
    },
  };
}
