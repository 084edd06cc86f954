import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { dirname } from 'node:path';
import type { FloorResult } from './floor.ts';

export type Status = 'PASS' | 'SHORT';

/** One throughput line of the report. */
export interface ThroughputRow {
  readonly stage: string;
  readonly unit: 'events/s' | 'spans/s';
  readonly best: number;
  readonly median: number;
  readonly runs: number;
  /** best / baseline best, in percent (events/s rows only). */
  readonly vsBaselinePct?: number;
  /** DESIGN.md §9 minimum, when the row has one. */
  readonly target?: number;
  readonly status?: Status;
  readonly notes: string;
}

/** A non-throughput goal (latency, memory): value and target as text. */
export interface CheckRow {
  readonly metric: string;
  readonly value: string;
  readonly target: string;
  readonly status?: Status;
  readonly notes: string;
}

/** Where one end-to-end event's time goes (best full run), in µs per event. */
export interface SplitRow {
  readonly part: string;
  readonly usPerEvent: number;
  readonly pct: number;
}

/** One size of the history stage (bench/history.ts): restart and replay after `events` events. */
export interface HistoryRow {
  readonly events: number;
  /** Spawn of `turnstream start` to the first /healthz 200 (absent: the restart failed). */
  readonly healthyMs?: number;
  /** Spawn to the first new turn's aggregate committed. */
  readonly aggregateMs?: number;
  readonly postToAggregateMs?: number;
  readonly rssBytes?: number;
  readonly peakRssBytes?: number;
  /** One-session replay in-process (best run). */
  readonly replayMs: number;
  /** The same as `turnstream replay <session> --json`, wall time (best run). */
  readonly replayCliMs: number;
  readonly status: Status;
  readonly notes: string;
}

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly platform: string;
  readonly date: string;
}

export interface BenchReport {
  readonly machine: Machine;
  readonly config: Readonly<Record<string, unknown>>;
  readonly workload: Readonly<Record<string, unknown>>;
  readonly throughput: readonly ThroughputRow[];
  readonly split: readonly SplitRow[];
  /** Each mandatory part alone (bench/floor.ts). */
  readonly floor?: FloorResult;
  readonly checks: readonly CheckRow[];
  readonly history?: readonly HistoryRow[];
  readonly details: Readonly<Record<string, unknown>>;
  readonly totalSeconds: number;
}

export function describeMachine(): Machine {
  let cpu = 'unknown';
  try {
    cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpu;
  } catch {
    // not Linux: keep "unknown"
  }
  return {
    cpu,
    cores: availableParallelism(),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    date: new Date().toISOString(),
  };
}

export const status = (ok: boolean): Status => (ok ? 'PASS' : 'SHORT');

/** 1234567 → "1.23M", 45678 → "45.7k". */
export function si(n: number): string {
  if (!Number.isFinite(n)) return '—';
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return n.toFixed(n >= 100 ? 0 : 1);
}

export const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

function table(header: readonly string[], rows: readonly (readonly string[])[], rightAligned: ReadonlySet<number>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: readonly string[]): string =>
    r
      .map((c, i) => (rightAligned.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)].join('\n');
}

/** The history stage's rows as a table (ms rounded; "failed" where a restart did not finish). */
function historyTable(rows: readonly HistoryRow[]): string {
  const ms = (x: number | undefined): string => (x === undefined ? 'failed' : x.toFixed(0));
  return table(
    ['events', 'healthy ms', '1st aggregate ms', 'POST→aggregate ms', 'RSS', 'peak RSS', 'replay ms', 'replay CLI ms', 'status', 'notes'],
    rows.map((h) => [
      si(h.events),
      ms(h.healthyMs),
      ms(h.aggregateMs),
      h.postToAggregateMs === undefined ? '' : ms(h.postToAggregateMs),
      h.rssBytes === undefined ? '' : mib(h.rssBytes),
      h.peakRssBytes === undefined ? '' : mib(h.peakRssBytes),
      ms(h.replayMs),
      ms(h.replayCliMs),
      h.status,
      h.notes,
    ]),
    new Set([0, 1, 2, 3, 4, 5, 6, 7]),
  );
}

/** The human-readable report (what `npm run bench` prints at the end). */
export function formatReport(r: BenchReport): string {
  const m = r.machine;
  const out: string[] = [];
  out.push(`machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}, ${m.date}`);
  out.push(
    `config: ${Object.entries(r.config)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(' ')}`,
  );
  out.push(
    `workload: ${Object.entries(r.workload)
      .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
      .join(' ')}`,
  );
  const throughput = r.throughput.map((t) => [
    t.stage,
    si(t.best),
    si(t.median),
    t.unit,
    t.vsBaselinePct === undefined ? '' : `${t.vsBaselinePct.toFixed(1)} %`,
    t.target === undefined ? '' : `≥ ${si(t.target)}`,
    t.status ?? '',
    t.notes,
  ]);
  if (throughput.length > 0)
    out.push('', table(['stage', 'best', 'median', 'unit', 'vs baseline', 'target', 'status', 'notes'], throughput, new Set([1, 2, 4, 5])));
  if (r.split.length > 0) {
    out.push('');
    out.push('end to end, where the time goes (best full run; share of its wall time, for a CPU row % of one core):');
    out.push(
      table(
        ['part', 'µs/event', 'share'],
        r.split.map((s) => [s.part, s.usPerEvent.toFixed(2), `${s.pct.toFixed(1)} %`]),
        new Set([1, 2]),
      ),
    );
  }
  if (r.floor !== undefined) {
    const f = r.floor;
    out.push('', 'floor: each part every event goes through, alone on this thread (bench/floor.ts):');
    const rows = f.rows.map((x) => [x.part, x.usPerEvent.toFixed(2), x.notes]);
    rows.push([
      `sum → at most ${si(f.ceiling)} events/s on ${f.cores} cores, nothing else running`,
      f.sumUs.toFixed(2),
      'no commit, metrics, HTTP, hand-overs, aggregates or GC helper threads',
    ]);
    out.push(table(['part', 'µs/event', 'notes'], rows, new Set([1])));
  }
  if (r.history !== undefined && r.history.length > 0)
    out.push('', 'history: restart (turnstream start, spawn → …) and one-session replay, by events of history:', historyTable(r.history));
  if (r.checks.length > 0)
    out.push(
      '',
      table(
        ['goal', 'measured', 'target', 'status', 'notes'],
        r.checks.map((c) => [c.metric, c.value, c.target, c.status ?? '', c.notes]),
        new Set(),
      ),
    );
  out.push('');
  out.push(`total bench time: ${r.totalSeconds.toFixed(0)} s`);
  return out.join('\n');
}

export function writeReportJson(path: string, r: BenchReport): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(r, null, 2)}\n`);
}
