import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PriceTable } from '../src/events/price-table.ts';
import { openEmbeddedPipeline } from '../src/pipeline/open-embedded-pipeline.ts';
import { benchTelemetry } from './counting-span-exporter.ts';
import { benchLogger } from './embedded-throughput.ts';
import { startOtlpSink } from './otlp-sink.ts';
import { quantile, tempDataDir } from './measure.ts';
import type { BenchOptions } from './options.ts';

export interface LatencyOptions {
  /** The lines to feed, in order (`latencyWindow` of a workload): the warm-up's, then the measured ones. */
  readonly lines: readonly string[];
  /** Where `lines` start in the workload (for the report). */
  readonly offset: number;
  readonly prices: PriceTable;
  /** Offered load, events per wall-clock second. */
  readonly rate: number;
  /** Measured seconds, after `warmupSeconds` of the same load. */
  readonly seconds: number;
  readonly warmupSeconds: number;
}

export interface LatencyResult {
  /** Index of the first workload line fed. */
  readonly offset: number;
  readonly rate: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly events: number;
  readonly achievedRate: number;
  readonly batches: number;
  /** turn.end lines whose aggregate was measured. */
  readonly samples: number;
  /** turn.end lines sent whose aggregate never arrived (should be 0). */
  readonly missing: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** How long `ingest()` took per batch (the acknowledgement latency of a request), after the warm-up. */
  readonly ingestP99Ms: number;
  /** The warm-up's own turn.end latencies (a cold process: JIT, threads starting, turns begun before the first line). */
  readonly warmup: { readonly samples: number; readonly p99Ms: number; readonly maxMs: number };
  /** Per measured second (by when the turn.end was given): [samples, p50, p99, max] in ms, to see when the tail happens. */
  readonly bySecond: readonly (readonly [number, number, number, number])[];
}

const TURN_END = '"type":"turn.end"';

/**
 * The lines a latency run feeds: from the middle of the workload, where sessions and turns are in
 * steady state (at the start they are all just opening, and few turns end); turns begun earlier
 * open on their first event.
 */
export function latencyWindow(total: number, o: { rate: number; seconds: number; warmupSeconds: number }): { offset: number; count: number } {
  const count = Math.min(total, Math.floor(o.rate * o.warmupSeconds) + Math.floor(o.rate * o.seconds));
  return { offset: Math.min(total - count, Math.floor(total / 2)), count };
}

/**
 * Event-in → aggregate-out latency under a steady load: a timer loop hands the pipeline every
 * line that is due at `rate` events/s (small batches, one per timer tick, like HTTP requests), and
 * for each `turn.end` measures from the moment its line is given to `ingest` until its aggregate
 * reaches `onAggregate` (after the state commit, with spans and metrics recorded). Telemetry as the
 * server runs it: metrics, and spans built, serialised and sent by the span worker thread to a
 * local OTLP sink. The first `warmupSeconds` of the same load are reported apart (a process that
 * has just started: JIT, threads booting, the turns begun before the first line looked up).
 */
// long: one timed loop (feed what is due, note when each turn.end was given) and its summary
export async function runLatency(o: LatencyOptions): Promise<LatencyResult> {
  const warmCount = Math.floor(o.rate * o.warmupSeconds);
  const { lines, offset } = o;
  // Which lines close a turn, and the turn they close: found before the clock starts.
  const turnEndKey = new Map<number, string>();
  lines.forEach((line, i) => {
    if (!line.includes(TURN_END)) return;
    const e = JSON.parse(line) as { session: string; turn: string };
    turnEndKey.set(i, `${e.session}\u0000${e.turn}`);
  });

  const sentAt = new Map<string, { at: number; warm: boolean }>();
  const latencies: number[] = [];
  const warmLatencies: number[] = [];
  const perSecond: number[][] = [];
  const data = tempDataDir();
  const sink = await startOtlpSink();
  const { telemetry } = await benchTelemetry('otlp', sink.url);
  const pipeline = await openEmbeddedPipeline({
    dataDir: data.dir,
    prices: o.prices,
    logger: benchLogger,
    ...(telemetry === undefined ? {} : { telemetry }),
    onAggregate: (a) => {
      if (a.revision !== 0) return;
      const key = `${a.session}\u0000${a.turn}`;
      const t = sentAt.get(key);
      if (t === undefined) return; // closed by idle timeout or session.end, not by a measured turn.end
      const ms = performance.now() - t.at;
      if (t.warm) warmLatencies.push(ms);
      else {
        latencies.push(ms);
        const second = Math.floor((t.at - start) / 1000 - o.warmupSeconds);
        let xs = perSecond[second];
        if (xs === undefined) {
          xs = [];
          perSecond[second] = xs;
        }
        xs.push(ms);
      }
      sentAt.delete(key);
    },
  });
  const ingestMs: number[] = [];
  let batches = 0;
  let start = 0;
  let elapsedS = 0;
  try {
    start = performance.now();
    let sent = 0;
    while (sent < lines.length) {
      const due = Math.min(lines.length, Math.floor(((performance.now() - start) * o.rate) / 1000));
      if (due > sent) {
        const now = performance.now();
        for (let i = sent; i < due; i++) {
          const key = turnEndKey.get(i);
          if (key !== undefined) sentAt.set(key, { at: now, warm: i < warmCount });
        }
        const batch = lines.slice(sent, due);
        const warm = sent < warmCount;
        sent = due;
        batches++;
        await pipeline.ingestor.ingest(batch, 'bench');
        if (!warm) ingestMs.push(performance.now() - now);
      }
      await sleep(1);
    }
    elapsedS = (performance.now() - start) / 1000;
    await pipeline.pump.idle();
    await telemetry?.forceFlush();
    if (pipeline.pump.failure !== undefined) throw pipeline.pump.failure;
  } finally {
    await pipeline.close();
    await telemetry?.shutdown();
    await sink.stop();
    data.remove();
  }
  latencies.sort((a, b) => a - b);
  warmLatencies.sort((a, b) => a - b);
  ingestMs.sort((a, b) => a - b);
  return {
    offset,
    rate: o.rate,
    seconds: o.seconds,
    warmupSeconds: o.warmupSeconds,
    events: lines.length,
    achievedRate: lines.length / elapsedS,
    batches,
    samples: latencies.length,
    missing: sentAt.size,
    p50Ms: quantile(latencies, 0.5),
    p90Ms: quantile(latencies, 0.9),
    p99Ms: quantile(latencies, 0.99),
    maxMs: latencies.at(-1) ?? Number.NaN,
    ingestP99Ms: quantile(ingestMs, 0.99),
    warmup: { samples: warmLatencies.length, p99Ms: quantile(warmLatencies, 0.99), maxMs: warmLatencies.at(-1) ?? Number.NaN },
    bySecond: Array.from(perSecond, (xs = []) => {
      xs.sort((a, b) => a - b);
      const r = (v: number): number => Math.round(v * 10) / 10;
      return [xs.length, r(quantile(xs, 0.5)), r(quantile(xs, 0.99)), r(xs.at(-1) ?? Number.NaN)] as const;
    }),
  };
}

/** The latency run in a child process (bench/latency-process.ts: a heap without the workload's lines). */
export function runLatencyProcess(o: BenchOptions): LatencyResult {
  const args = [
    '--events',
    o.events,
    '--sessions',
    o.sessions,
    '--seed',
    o.seed,
    '--rate',
    o.rate,
    '--seconds',
    o.latencySeconds,
    '--warmup',
    o.latencyWarmupSeconds,
  ];
  const child = spawnSync(process.execPath, ['--expose-gc', join(dirname(fileURLToPath(import.meta.url)), 'latency-process.ts'), ...args.map(String)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = child.stdout.split('\n').find((l) => l.startsWith('{"bench":"latency"'));
  if (child.status !== 0 || line === undefined) throw new Error(`bench/latency-process.ts failed (${child.status})`);
  return (JSON.parse(line) as { result: LatencyResult }).result;
}
