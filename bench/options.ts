import { parseArgs } from 'node:util';

export const STAGES = [
  'baseline',
  'decode',
  'append',
  'uuid',
  'pipeline',
  'metrics',
  'full',
  'spans',
  'floor',
  'latency',
  'replay',
  'memory',
  'history',
  'otlp',
] as const;
export type Stage = (typeof STAGES)[number];
/**
 * What runs without `--only`. `pipeline` (no telemetry at all) is left out to keep a full run
 * within a few minutes: the end-to-end run's own time split already isolates decode, append,
 * windows and commit.
 */
export const DEFAULT_STAGES: readonly Stage[] = STAGES.filter((s) => s !== 'pipeline');

export interface BenchOptions {
  readonly quick: boolean;
  readonly events: number;
  readonly sessions: number;
  readonly seed: number;
  readonly batchSize: number;
  /** Concurrent producers in the end-to-end stages (each sends one batch at a time). */
  readonly clients: number;
  readonly runs: number;
  readonly stages: ReadonlySet<Stage>;
  readonly rate: number;
  readonly latencySeconds: number;
  readonly latencyWarmupSeconds: number;
  readonly openTurns: number;
  readonly closeTurns: number;
  readonly memorySeconds: number;
  /** Lines for the UUIDv4 append stage: random-key inserts slow down as the table grows. */
  readonly uuidEvents: number;
  /** Profile one extra end-to-end run in-process and summarise it. */
  readonly profile: boolean;
  readonly out: string;
  /** Events of history the history stage restarts and replays after (quick 200k, 1M; full 1M, 5M, 10M). */
  readonly historySizes: readonly number[];
  /** Rebuild the cached histories (bench/history-cache.ts) instead of reusing them. */
  readonly freshHistory: boolean;
  /** Kafka brokers for the takeover measurement (--brokers, else TURNSTREAM_TEST_KAFKA_BROKERS). */
  readonly brokers: string | undefined;
  /** Longest one restart of the history stage may take before it is reported as failed. */
  readonly historyTimeoutSeconds: number;
}

export const USAGE = `usage: npm run bench -- [options]   (node --expose-gc bench/run.ts)
  --quick               ~100k events, smaller latency/memory runs, history at 200k and 1M events (CI-like)
  --events N            events in the workload (default 1,000,000; env BENCH_EVENTS)
  --sessions N          concurrent sessions (default 2,000)
  --seed N              workload seed (default 42)
  --batch N             lines per ingest call (default 2,000)
  --clients N           concurrent producers in the end-to-end stages, each with one ingest call in
                        flight (default 4; 1 = one request at a time, nothing to overlap with)
  --runs N              runs per throughput measurement; best and median are reported (default 2, quick 3)
  --only a,b,…          stages: ${STAGES.join(', ')}
                        (default: all but pipeline)
  --uuid-events N       lines used for the UUIDv4-id append stage (default 300,000)
  --rate N              offered load for the latency run, events/s (default 10,000)
  --latency-seconds N   measured length of the latency run (default 10, quick 3)
  --latency-warmup N    seconds of the same load before it, reported apart (default 1)
  --open-turns N        turns left open for the memory run (default 100,000, quick 20,000)
  --close-turns N       turns to close for the memory run (default 1,000,000, quick 150,000)
  --memory-seconds N    time budget for closing turns (default 30, quick 10)
  --history-sizes a,b,… events of history for the history stage (default 1M,5M,10M; quick 200k,1M);
                        built once and cached under ~/.cache/turnstream/bench-history (TURNSTREAM_BENCH_HISTORY_DIR)
  --fresh-history       rebuild the cached histories
  --history-timeout N   seconds one restart may take before it counts as failed (default 300)
  --brokers LIST        Kafka brokers for the takeover row (default TURNSTREAM_TEST_KAFKA_BROKERS)
  --profile             CPU-profile one extra end-to-end run (bench/results/embedded.cpuprofile)
  --out FILE            JSON report (default bench/results/latest.json)

Kafka mode instead, broker on this machine (TURNSTREAM_TEST_KAFKA_BROKERS, else one of its own is
started with deploy/kafka/kafka.sh and removed at the end; Java 17+ and Maven):
  npm run bench -- --kafka [--events N (200k; quick 50k)] [--partitions P (6)] [--clients C (4)]
                           [--rate R (the latency run, default 5,000 events/s)] [--quick]`;

/** "200k,1M,5_000_000" → [200000, 1000000, 5000000], ascending. */
export function parseSizes(value: string): number[] {
  const sizes = value.split(',').map((raw) => {
    const m = /^\s*([\d_.]+)\s*([kKmM]?)\s*$/.exec(raw);
    const n = m === null ? Number.NaN : Number(m[1]!.replaceAll('_', '')) * ({ k: 1e3, m: 1e6 }[m[2]!.toLowerCase()] ?? 1);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--history-sizes: "${raw}" is not a positive event count (e.g. 200k, 1M, 5000000)`);
    return n;
  });
  return [...new Set(sizes)].sort((a, b) => a - b);
}

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value.replaceAll('_', '').replaceAll(',', ''));
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got "${value}"`);
  return n;
}

/** Flags win over environment variables (BENCH_EVENTS, BENCH_QUICK=1), which win over defaults. */
// long: one flag table and one result object, each field's default beside it
export function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean' },
      events: { type: 'string' },
      sessions: { type: 'string' },
      seed: { type: 'string' },
      batch: { type: 'string' },
      clients: { type: 'string' },
      runs: { type: 'string' },
      only: { type: 'string' },
      rate: { type: 'string' },
      'latency-seconds': { type: 'string' },
      'latency-warmup': { type: 'string' },
      'open-turns': { type: 'string' },
      'close-turns': { type: 'string' },
      'memory-seconds': { type: 'string' },
      'uuid-events': { type: 'string' },
      profile: { type: 'boolean' },
      'history-sizes': { type: 'string' },
      'fresh-history': { type: 'boolean' },
      'history-timeout': { type: 'string' },
      brokers: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help === true) throw new Error(USAGE);
  const quick = values.quick ?? env['BENCH_QUICK'] === '1';
  let stages: Set<Stage> = new Set(DEFAULT_STAGES);
  if (values.only !== undefined) {
    const wanted = values.only
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    const unknown = wanted.filter((s) => !(STAGES as readonly string[]).includes(s));
    if (unknown.length > 0) throw new Error(`--only: unknown stage(s) ${unknown.join(', ')}; choose from ${STAGES.join(', ')}`);
    stages = new Set(wanted as Stage[]);
  }
  return {
    quick,
    events: positiveInt('events', values.events ?? env['BENCH_EVENTS'], quick ? 100_000 : 1_000_000),
    sessions: positiveInt('sessions', values.sessions, 2000),
    seed: positiveInt('seed', values.seed, 42),
    batchSize: positiveInt('batch', values.batch, 2000),
    clients: positiveInt('clients', values.clients, 4),
    runs: Math.max(2, positiveInt('runs', values.runs, quick ? 3 : 2)),
    stages,
    rate: positiveInt('rate', values.rate, 10_000),
    latencySeconds: positiveInt('latency-seconds', values['latency-seconds'], quick ? 3 : 10),
    latencyWarmupSeconds: positiveInt('latency-warmup', values['latency-warmup'], 1),
    openTurns: positiveInt('open-turns', values['open-turns'], quick ? 20_000 : 100_000),
    closeTurns: positiveInt('close-turns', values['close-turns'], quick ? 150_000 : 1_000_000),
    memorySeconds: positiveInt('memory-seconds', values['memory-seconds'], quick ? 10 : 30),
    uuidEvents: positiveInt('uuid-events', values['uuid-events'], 300_000),
    profile: values.profile ?? false,
    out: values.out ?? new URL('./results/latest.json', import.meta.url).pathname,
    historySizes: parseSizes(values['history-sizes'] ?? (quick ? '200k,1M' : '1M,5M,10M')),
    freshHistory: values['fresh-history'] ?? false,
    brokers: values.brokers ?? (env['TURNSTREAM_TEST_KAFKA_BROKERS'] || undefined),
    historyTimeoutSeconds: positiveInt('history-timeout', values['history-timeout'], 300),
  };
}
