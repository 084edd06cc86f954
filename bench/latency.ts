import { setTimeout as sleep } from 'node:timers/promises';
import type { PriceTable } from '../src/events/price-table.ts';
import { openEmbeddedPipeline } from '../src/pipeline/open-embedded-pipeline.ts';
import { benchTelemetry } from './counting-span-exporter.ts';
import { benchLogger } from './embedded-throughput.ts';
import { quantile, tempDataDir } from './measure.ts';

export interface LatencyOptions {
  readonly lines: readonly string[];
  readonly prices: PriceTable;
  /** Offered load, events per wall-clock second. */
  readonly rate: number;
  readonly seconds: number;
}

export interface LatencyResult {
  /** Index of the first workload line fed. */
  readonly offset: number;
  readonly rate: number;
  readonly seconds: number;
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
  /** How long `ingest()` took per batch (the acknowledgement latency of a request). */
  readonly ingestP99Ms: number;
}

const TURN_END = '"type":"turn.end"';

/**
 * Event-in → aggregate-out latency under a steady load: a timer loop hands the pipeline every
 * line that is due at `rate` events/s (small batches, one per timer tick, like HTTP requests), and
 * for each `turn.end` measures from the moment its line is given to `ingest` until its aggregate
 * reaches `onAggregate` (after the state commit, with spans and metrics recorded). Full telemetry:
 * spans go through the BatchSpanProcessor to the serialising exporter on the same thread.
 */
export async function runLatency(o: LatencyOptions): Promise<LatencyResult> {
  // From the middle of the workload: sessions and turns are in steady state there (at the start
  // they are all just opening, and few turns end). Turns begun earlier open on their first event.
  const count = Math.min(o.lines.length, Math.floor(o.rate * o.seconds));
  const offset = Math.min(o.lines.length - count, Math.floor(o.lines.length / 2));
  const lines = o.lines.slice(offset, offset + count);
  // Which lines close a turn, and the turn they close: found before the clock starts.
  const turnEndKey = new Map<number, string>();
  lines.forEach((line, i) => {
    if (!line.includes(TURN_END)) return;
    const e = JSON.parse(line) as { session: string; turn: string };
    turnEndKey.set(i, `${e.session}\u0000${e.turn}`);
  });

  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const data = tempDataDir();
  const { telemetry } = await benchTelemetry('full');
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
      latencies.push(performance.now() - t);
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
          if (key !== undefined) sentAt.set(key, now);
        }
        const batch = lines.slice(sent, due);
        sent = due;
        batches++;
        await pipeline.ingestor.ingest(batch, 'bench');
        ingestMs.push(performance.now() - now);
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
    data.remove();
  }
  latencies.sort((a, b) => a - b);
  ingestMs.sort((a, b) => a - b);
  return {
    offset,
    rate: o.rate,
    seconds: o.seconds,
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
  };
}
