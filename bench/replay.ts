import { copyFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DatabaseSync } from 'node:sqlite';
import type { PriceTable } from '../src/events/price-table.ts';
import { openEmbeddedPipeline } from '../src/pipeline/open-embedded-pipeline.ts';
import { openEmbeddedStore } from '../src/state/open-embedded-store.ts';
import { benchTelemetry } from './counting-span-exporter.ts';
import { benchLogger } from './embedded-throughput.ts';
import { secondsSince, summarize, tempDataDir, type RateSummary, type Sample } from './measure.ts';

const DB_FILE = 'turnstream.db';
const RESTART_PROCESS = fileURLToPath(new URL('./restart-process.ts', import.meta.url));

/** Reads the whole log back: SQLite rows → `parseLoggedEvent` (JSON.parse + time), nothing else. */
export async function runReplayRead(dataDir: string): Promise<Sample> {
  const store = openEmbeddedStore({ dataDir });
  try {
    const start = process.hrtime.bigint();
    let n = 0;
    for await (const batch of store.log.read()) n += batch.length;
    return { seconds: secondsSince(start), count: n };
  } finally {
    store.close();
  }
}

/**
 * Restart: a fresh pipeline on the same data dir. `processor.start()` re-reads the whole log to
 * rebuild the open windows, suppressing every effect at or below the committed position (nothing
 * is committed or exported again). Timed from open to caught up. `threads`: the rebuild's threads
 * (default: the pipeline's, by shard on every core up to 4; 1: fed on the main thread alone).
 *
 * In a process of its own (`bench/restart-process.ts`), as a restart is: in the bench's process the
 * workload's ~250 MB of lines share the heap, and marking them takes the core a second shard
 * would use.
 */
export function runReplayRestart(dataDir: string, events: number, threads?: number): Sample {
  const args = [RESTART_PROCESS, '--data-dir', dataDir, '--events', String(events), ...(threads === undefined ? [] : ['--threads', String(threads)])];
  const child = spawnSync(process.execPath, args, { encoding: 'utf8' });
  const line = child.stdout.split('\n').find((l) => l.startsWith('{"bench":"restart"'));
  if (child.status !== 0 || line === undefined) throw new Error(`bench/restart-process.ts failed (${child.status}): ${child.stderr.slice(-2000)}`);
  const { seconds } = JSON.parse(line) as { seconds: number };
  return { seconds, count: events };
}

/**
 * Restarts on one thread and by shard, `pairs` of each, alternating which goes first (this VM's
 * speed drifts within minutes, and the second of two runs tends to be the faster): the rates of
 * each, and the mean of the pairs' ratios.
 */
export function interleavedRestarts(dataDir: string, events: number, pairs: number): { one: RateSummary; shard: RateSummary; meanRatio: number } {
  const one: Sample[] = [];
  const shard: Sample[] = [];
  for (let i = 0; i < pairs; i++) {
    if (i % 2 === 0) {
      one.push(runReplayRestart(dataDir, events, 1));
      shard.push(runReplayRestart(dataDir, events));
    } else {
      shard.push(runReplayRestart(dataDir, events));
      one.push(runReplayRestart(dataDir, events, 1));
    }
  }
  const ratios = one.map((o, i) => o.seconds / shard[i]!.seconds);
  return { one: summarize(one), shard: summarize(shard), meanRatio: ratios.reduce((a, b) => a + b, 0) / ratios.length };
}

/** `runReplayRestart` in this process (what `bench/restart-process.ts` runs). */
export async function restartInProcess(dataDir: string, prices: PriceTable, events: number, threads?: number): Promise<Sample> {
  // The rebuild from the whole log (what a restart without a usable checkpoint does): the stored
  // checkpoint is removed and none is written at close, or the restart would read nothing.
  const db = new DatabaseSync(join(dataDir, DB_FILE));
  db.exec('DELETE FROM checkpoint');
  db.close();
  const start = process.hrtime.bigint();
  const pipeline = await openEmbeddedPipeline({
    dataDir,
    prices,
    logger: benchLogger,
    checkpoints: { everyEvents: 0 },
    ...(threads === undefined ? {} : { rebuild: { threads } }),
  });
  const seconds = secondsSince(start);
  try {
    if (pipeline.processor.position !== events) throw new Error(`restart caught up to ${pipeline.processor.position}, expected ${events}`);
    return { seconds, count: events };
  } finally {
    await pipeline.close();
  }
}

/**
 * Full replay (re-pricing / backfill): a copy of the log with no derived state, opened with full
 * telemetry, so the processor rebuilds every window and commits and exports every effect again:
 * state, roll-ups, turn rows, metrics and OTLP-serialised spans (same ids as the first time).
 * Timed from open until telemetry is flushed.
 */
export async function runReplayFull(sourceDir: string, prices: PriceTable, events: number): Promise<Sample> {
  const copy = tempDataDir();
  copyFileSync(join(sourceDir, DB_FILE), join(copy.dir, DB_FILE));
  if (existsSync(join(sourceDir, `${DB_FILE}-wal`))) copyFileSync(join(sourceDir, `${DB_FILE}-wal`), join(copy.dir, `${DB_FILE}-wal`));
  const db = new DatabaseSync(join(copy.dir, DB_FILE));
  db.exec('DELETE FROM state; DELETE FROM turns; DELETE FROM meta; DELETE FROM dead_letters; DELETE FROM checkpoint;');
  db.close();
  const { telemetry, exporter } = await benchTelemetry('full');
  try {
    const start = process.hrtime.bigint();
    const pipeline = await openEmbeddedPipeline({ dataDir: copy.dir, prices, logger: benchLogger, ...(telemetry === undefined ? {} : { telemetry }) });
    await telemetry?.forceFlush();
    const seconds = secondsSince(start);
    await pipeline.close();
    if (pipeline.processor.position !== events) throw new Error(`replay reached ${pipeline.processor.position}, expected ${events}`);
    return { seconds, count: events, extra: { spans: exporter?.spans ?? 0 } };
  } finally {
    await telemetry?.shutdown();
    copy.remove();
  }
}
