import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One timed run of a throughput measurement. */
export interface Sample {
  readonly seconds: number;
  /** Units processed (events, spans, …). */
  readonly count: number;
  /** Extra numbers a run reports (spans, bytes, per-stage seconds). */
  readonly extra?: Readonly<Record<string, number>>;
}

/** Best and median rate over repeated runs. */
export interface RateSummary {
  readonly best: number;
  readonly median: number;
  readonly runs: number;
  readonly rates: number[];
  /** `extra` of the best run. */
  readonly extra?: Readonly<Record<string, number>>;
}

/** Elapsed seconds since `start` (from `process.hrtime.bigint()`). */
export const secondsSince = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e9;

/** Runs `gc()` a few times when the process has `--expose-gc`; a no-op otherwise. */
export function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return;
  for (let i = 0; i < 3; i++) gc();
}

export const hasGc = (): boolean => typeof (globalThis as { gc?: unknown }).gc === 'function';

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Value at quantile `q` (0..1) of already sorted numbers (nearest rank). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Runs `run` `runs` times with a GC before each, and summarises count/seconds. */
export async function repeat(runs: number, run: () => Promise<Sample> | Sample): Promise<RateSummary> {
  const samples: Sample[] = [];
  for (let i = 0; i < runs; i++) {
    collectGarbage();
    samples.push(await run());
  }
  return summarize(samples);
}

/** Best, median and every rate of `samples` (`extra` of the best one). */
export function summarize(samples: readonly Sample[]): RateSummary {
  const runs = samples.length;
  const rates = samples.map((s) => s.count / s.seconds);
  let bestIndex = 0;
  for (let i = 1; i < rates.length; i++) if (rates[i]! > rates[bestIndex]!) bestIndex = i;
  const extra = samples[bestIndex]?.extra;
  return { best: rates[bestIndex]!, median: median(rates), runs, rates, ...(extra === undefined ? {} : { extra }) };
}

/** A fresh temporary data directory, and its removal. */
export function tempDataDir(prefix = 'turnstream-bench-'): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Splits `lines` into consecutive batches of `size`. */
export function* batches<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

/** Lets queued macrotasks (the pump's setImmediate, timers) run, like a server between requests. */
export const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
