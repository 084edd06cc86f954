import { processorOptions, type PipelineOptions } from './pipeline-options.ts';
import { DEFAULT_DECODE_LIMITS } from '../events/decode-event.ts';
import { LogWriter } from '../log/log-writer.ts';
import { WalCheckpointer, WRITER_AUTOCHECKPOINT_PAGES } from '../log/wal-checkpointer.ts';
import { createPipelineMetrics, type PipelineMetrics } from '../exporters/pipeline-metrics.ts';
import type { SyncMode } from '../log/open-sqlite.ts';
import type { DeadLetterRetention } from '../log/dead-letter-store.ts';
import { silentLogger, type Logger } from '../logger.ts';
import { lockDataDir } from '../state/data-dir-lock.ts';
import { openEmbeddedStore, type EmbeddedStore } from '../state/open-embedded-store.ts';
import { watchEmbeddedHealth, type EmbeddedHealth } from './embedded-health.ts';
import { Ingestor } from './ingestor.ts';
import { Processor } from './processor.ts';
import { Pump } from './pump.ts';
import { shardedRebuild } from './sharded-rebuild.ts';

export interface EmbeddedPipelineOptions extends PipelineOptions {
  readonly dataDir: string;
  readonly sync?: SyncMode;
  /** How many dead letters the store keeps (rows, bytes, age); the oldest are trimmed first. */
  readonly deadLetterRetention?: DeadLetterRetention;
  /** Delete logged events older than this (event time) once a checkpoint covers them. Default: keep everything. */
  readonly retainMs?: number;
  /** How often retention runs. Default 10 min (and once at start). */
  readonly retentionIntervalMs?: number;
  /**
   * Append to the log on a worker thread (default true): the inserts and commits of ingest run on
   * another core than decoding and processing. False appends in this thread.
   */
  readonly logWriterThread?: boolean;
  /**
   * Copy the WAL back into the database file on a thread of its own (default true), not inside a
   * writer's COMMIT (see wal-checkpointer.ts). False leaves it to SQLite's automatic checkpoint.
   */
  readonly walCheckpointThread?: boolean;
  /**
   * A restart with no usable checkpoint rebuilds the open work from the start of the log by shard
   * of sessions, on this many threads (`shardedRebuild`). Default: the machine's cores, at most 4;
   * 1 rebuilds on this thread only. `minEvents`: below this many committed events, one thread.
   */
  readonly rebuild?: { readonly threads?: number; readonly minEvents?: number };
}

export interface EmbeddedPipeline {
  readonly store: EmbeddedStore;
  readonly ingestor: Ingestor;
  readonly processor: Processor;
  readonly pump: Pump;
  readonly metrics: PipelineMetrics | undefined;
  /** The log writer thread, when appends run on one (`logWriterThread`, the default). */
  readonly logWriter: LogWriter | undefined;
  /**
   * Ready or not, with the named fault: not ready while processing fails or while writes to the
   * store fail (then ingest would fail too; re-probed on each call, so it turns ready by itself).
   */
  health(): EmbeddedHealth;
  /** Processes what is queued, flushes telemetry, releases the data dir. Idempotent. */
  close(): Promise<void>;
}

export type { EmbeddedHealth };

/**
 * The embedded default, assembled: one SQLite store (log, state, dead letters) locked to this
 * process, the processor caught up with the log, and an ingestor whose appends feed the processor.
 */
// long: wiring only (store, lock, processor, pump, ingest, health): one dependency per statement, in start-up order
export async function openEmbeddedPipeline(o: EmbeddedPipelineOptions): Promise<EmbeddedPipeline> {
  const logger = o.logger ?? silentLogger;
  const store = openEmbeddedStore({
    dataDir: o.dataDir,
    writable: true,
    logger,
    ...(o.sync === undefined ? {} : { sync: o.sync }),
    ...(o.deadLetterRetention === undefined ? {} : { deadLetterRetention: o.deadLetterRetention }),
  });
  let lock: { release(): void };
  try {
    lock = lockDataDir(o.dataDir);
  } catch (error) {
    store.close();
    throw error;
  }
  const metrics = o.telemetry === undefined ? undefined : createPipelineMetrics(o.telemetry.meter, o.telemetry.labelCaps, o.telemetry.histograms);
  const options = processorOptions(o, metrics, logger);
  const processor = new Processor({
    ...options,
    rebuildFromStart: (through) =>
      shardedRebuild(
        {
          dataDir: o.dataDir,
          log: store.log,
          state: store.state,
          prices: o.prices,
          ...(options.windows === undefined ? {} : { windows: options.windows }),
          budgetRules: o.budgets?.rules.length ?? 0,
          ...(o.rebuild?.threads === undefined ? {} : { threads: o.rebuild.threads }),
          ...(o.rebuild?.minEvents === undefined ? {} : { minEvents: o.rebuild.minEvents }),
          logger,
        },
        through,
      ),
    log: store.log,
    state: store.state,
    deadLetters: store.deadLetters,
    rawAt: (pos) => store.log.bodyAt(pos),
  });
  const pump = new Pump(processor, logger, o.retry ?? {});
  // The thread boots (~0.2 s: a V8 isolate, its modules) while the processor restores and catches up.
  const starting =
    o.logWriterThread === false ? undefined : LogWriter.start({ dataDir: o.dataDir, db: store.db, ...(o.sync === undefined ? {} : { sync: o.sync }) });
  const checkpointing =
    o.walCheckpointThread === false ? undefined : WalCheckpointer.start({ dataDir: o.dataDir, logger, ...(o.sync === undefined ? {} : { sync: o.sync }) });
  let logWriter: LogWriter | undefined;
  let checkpointer: WalCheckpointer | undefined;
  try {
    await processor.start();
    logWriter = await starting;
    checkpointer = await checkpointing;
    if (checkpointer !== undefined) {
      const pragma = `PRAGMA wal_autocheckpoint = ${WRITER_AUTOCHECKPOINT_PAGES}`;
      store.db.exec(pragma);
      await logWriter?.exec(pragma);
    }
  } catch (error) {
    await starting?.then((w) => w.close()).catch(() => undefined);
    await checkpointing?.then((c) => c.close()).catch(() => undefined);
    lock.release();
    store.close();
    throw error;
  }
  const { log, health } = watchEmbeddedHealth({ store, appender: logWriter ?? store.log, processor, pump, logger });
  const ingestor = new Ingestor({
    log,
    deadLetters: store.deadLetters,
    limits: o.limits ?? DEFAULT_DECODE_LIMITS,
    onAppended: (batch) => pump.push(batch),
    ...(metrics === undefined ? {} : { metrics }),
  });
  metrics?.observeLag(() => store.log.headSync() - processor.position);
  const retention = o.retainMs === undefined ? undefined : startRetention(store, processor, o.retainMs, o.retentionIntervalMs ?? 600_000, logger);
  let closing: Promise<void> | undefined;
  return {
    store,
    ingestor,
    processor,
    pump,
    metrics,
    logWriter,
    health,
    close: () => {
      closing ??= (async () => {
        try {
          if (retention !== undefined) clearInterval(retention);
          pump.stop();
          await pump.idle();
          // The next start then reads nothing of the log (a crash costs the events since the last one).
          await processor.checkpointNow().catch((error: unknown) => logger.warn('final checkpoint failed', { error }));
          processor.stop();
          await o.telemetry?.forceFlush();
          await o.budgets?.sink.shutdown();
        } finally {
          await checkpointer?.close().catch((error: unknown) => logger.warn('closing the WAL checkpoint thread failed', { error }));
          await logWriter?.close().catch((error: unknown) => logger.warn('closing the log writer thread failed', { error }));
          lock.release();
          store.close();
        }
      })();
      return closing;
    },
  };
}

/**
 * Log retention: every `intervalMs` (and once now), deletes the events older than `retainMs` in
 * event time, but never beyond the processor's checkpoint (a restart must find the log after it).
 */
function startRetention(store: EmbeddedStore, processor: Processor, retainMs: number, intervalMs: number, logger: Logger): NodeJS.Timeout {
  // The trim deletes in chunks and gives the event loop back between them (ingest goes on meanwhile).
  const run = (): void => {
    store.log.trimBefore(Date.now() - retainMs, processor.checkpointPosition).then(
      ({ deleted, through }) => {
        if (deleted > 0) logger.info('log retention deleted old events', { deleted, through, retainMs });
      },
      (error: unknown) => logger.warn('log retention failed; it runs again later', { error }),
    );
  };
  setImmediate(run).unref();
  const timer = setInterval(run, intervalMs);
  timer.unref();
  return timer;
}
