import { processorOptions, type PipelineOptions } from './pipeline-options.ts';
import { DEFAULT_DECODE_LIMITS } from '../events/decode-event.ts';
import { createPipelineMetrics, type PipelineMetrics } from '../exporters/pipeline-metrics.ts';
import type { SyncMode } from '../log/open-sqlite.ts';
import { silentLogger } from '../logger.ts';
import { lockDataDir } from '../state/data-dir-lock.ts';
import { openEmbeddedStore, type EmbeddedStore } from '../state/open-embedded-store.ts';
import { Ingestor } from './ingestor.ts';
import { Processor } from './processor.ts';
import { Pump } from './pump.ts';

export interface EmbeddedPipelineOptions extends PipelineOptions {
  readonly dataDir: string;
  readonly sync?: SyncMode;
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
  const processor = new Processor({ ...processorOptions(o, metrics, logger), log: store.log, state: store.state, deadLetters: store.deadLetters });
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
