/**
 * The `history` stage: what a long history costs the next start and a one-session replay
 * (DESIGN.md §9: "cost independent of history").
 *
 * For each size (quick: 200k, 1M; full: 1M, 5M, 10M events) the cached history
 * (history-cache.ts, built once by make-history.ts) is copied to a scratch data dir, then:
 *  - restart: a real `turnstream start --data-dir … --port 0` child process. Timed from spawn to
 *    the first `/healthz` 200 (it listens only once caught up), then a new turn (turn.start,
 *    llm.usage, turn.end of a new session, event time 1 s after the history's last event) is
 *    POSTed and the store's `turns` table polled (what `sessions show` reads) until its aggregate
 *    is committed: "first new aggregate", also timed from spawn. RSS (VmRSS) and peak RSS (VmHWM)
 *    of the child are read from /proc after that, then it is stopped with SIGTERM.
 *  - one-session replay of a session from the middle of the log: `turnstream replay <s> --json`
 *    as a child process (wall time, Node start-up and CLI imports included), and the same in this
 *    process (open the store read-only, extent, replaySession, close) without the start-up.
 * Kafka takeover after 1M events is measured by bench/kafka-takeover.ts when it exists and a broker
 * is given (--brokers or TURNSTREAM_TEST_KAFKA_BROKERS).
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { readReplayLogs } from '../src/backend/read-replay-logs.ts';
import { loadPriceTable } from '../src/events/price-table.ts';
import { replaySession } from '../src/replay/replay-session.ts';
import { cachedHistory, type CachedHistory } from './history-cache.ts';
import type { TakeoverResult } from './kafka-takeover.ts';
import { tempDataDir } from './measure.ts';
import { mib, si, status, type CheckRow, type HistoryRow } from './report.ts';

const BIN = fileURLToPath(new URL('../bin/turnstream.js', import.meta.url));
const TAKEOVER = fileURLToPath(new URL('./kafka-takeover.ts', import.meta.url));
const TARGET_RESTART_MS = 1000;
const TARGET_RSS_SPREAD = 0.1;
const TARGET_REPLAY_MS = 200;
const TARGET_TAKEOVER_MS = 5000;
const KAFKA_EVENTS = 1_000_000;

export interface HistoryStageOptions {
  readonly sizes: readonly number[];
  readonly fresh: boolean;
  readonly brokers: string | undefined;
  /** Longest a restart may take before it is stopped and reported as timed out. */
  readonly restartTimeoutSeconds: number;
  readonly progress: (message: string) => void;
}

export interface RestartResult {
  readonly healthyMs: number;
  readonly aggregateMs: number;
  readonly postToAggregateMs: number;
  readonly rssBytes: number;
  readonly peakRssBytes: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The environment of a child CLI: this one's, without turnstream or OpenTelemetry settings (defaults only). */
function cliEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TURNSTREAM_') && !k.startsWith('OTEL_')) env[k] = v;
  return { ...env, TURNSTREAM_LOG_LEVEL: 'warn', OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none' };
}

function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

/** Three events of one new turn of a new session, `atMs` onwards, as NDJSON. */
function newTurn(session: string, atMs: number): string {
  const at = (ms: number): string => new Date(atMs + ms).toISOString();
  const id = (): string => crypto.randomUUID();
  return [
    { v: 1, id: id(), type: 'turn.start', session, turn: 'turn-1', time: at(0) },
    {
      v: 1,
      id: id(),
      type: 'llm.usage',
      session,
      turn: 'turn-1',
      time: at(500),
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
      inputTokens: 900,
      outputTokens: 200,
    },
    { v: 1, id: id(), type: 'turn.end', session, turn: 'turn-1', time: at(1000), stopReason: 'end_turn' },
  ]
    .map((e) => JSON.stringify(e))
    .join('\n');
}

/** Starts `turnstream start` on `dataDir` and times it to healthy and to its first new aggregate; see the module comment. */
// long: one child process's life in order (spawn, URL, healthy, POST, aggregate, RSS, stop), each step with its own deadline and failure message
export async function measureRestart(dataDir: string, lastEventMs: number, timeoutSeconds: number): Promise<RestartResult> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [BIN, 'start', '--data-dir', dataDir, '--host', '127.0.0.1', '--port', '0'], {
    env: cliEnv(),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const deadline = t0 + timeoutSeconds * 1000;
  const check = (what: string): void => {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`turnstream start exited (${child.signalCode ?? `code ${child.exitCode}`}) ${what}: ${stderr.slice(-1500)}`);
    if (performance.now() > deadline) throw new Error(`turnstream start: not ${what} within ${timeoutSeconds} s`);
  };
  let db: DatabaseSync | undefined;
  try {
    const listening = /listening on (http:\/\/\S+)/;
    while (!listening.test(stderr)) {
      check('listening');
      await sleep(5);
    }
    const url = listening.exec(stderr)![1]!;
    for (;;) {
      check('healthy');
      const r = await fetch(`${url}/healthz`).catch(() => undefined);
      if (r?.status === 200) break;
      await sleep(5);
    }
    const healthyMs = performance.now() - t0;
    const session = `bench-restart-${Date.now().toString(36)}`;
    const posted = performance.now();
    const answer = await fetch(`${url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: newTurn(session, lastEventMs + 1000),
    });
    if (answer.status !== 200) throw new Error(`POST /v1/events answered ${answer.status}: ${await answer.text()}`);
    db = new DatabaseSync(join(dataDir, 'turnstream.db'), { readOnly: true });
    const turn = db.prepare("SELECT 1 FROM turns WHERE session = ? AND turn = 'turn-1'");
    while (turn.get(session) === undefined) {
      check('producing the new turn');
      await sleep(2);
    }
    const done = performance.now();
    return {
      healthyMs,
      aggregateMs: done - t0,
      postToAggregateMs: done - posted,
      rssBytes: procStatus(child.pid!, 'VmRSS'),
      peakRssBytes: procStatus(child.pid!, 'VmHWM'),
    };
  } finally {
    db?.close();
    child.kill('SIGTERM');
    const force = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(force);
  }
}

/** Wall time of `turnstream ARGS` as a child process; throws unless it exits 0. */
async function cliMs(args: readonly string[]): Promise<{ ms: number; stdout: string }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [BIN, ...args], { env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  const ms = performance.now() - t0;
  if (code !== 0) throw new Error(`turnstream ${args.join(' ')} exited ${code}: ${stderr.slice(-1500)}`);
  return { ms, stdout };
}

/** One-session replay in this process, as the CLI does it: store opened read-only, extent, replay, closed. */
async function replayInProcess(dataDir: string, session: string): Promise<{ ms: number; turns: number }> {
  const prices = loadPriceTable();
  const t0 = performance.now();
  const logs = await readReplayLogs({ dataDir });
  try {
    const extent = await logs.extent?.(session);
    const opened = await logs.forSession(session);
    try {
      const r = await replaySession({
        log: opened.log,
        ...(opened.focusedRead === undefined ? {} : { focusedRead: opened.focusedRead }),
        session,
        prices,
        ...(extent === undefined ? {} : { lastPos: extent.lastPos }),
      });
      return { ms: performance.now() - t0, turns: r.turns.length };
    } finally {
      await opened.release();
    }
  } finally {
    await logs.close();
  }
}

interface SizeResult {
  readonly history: CachedHistory;
  readonly copySeconds: number;
  readonly restart?: RestartResult;
  readonly restartError?: string;
  readonly replayMs: number[];
  readonly replayCliMs: number[];
  readonly replayTurns: number;
}

async function measureSize(events: number, o: HistoryStageOptions): Promise<SizeResult> {
  const history = await cachedHistory({ events, fresh: o.fresh, onProgress: (m) => o.progress(`history ${si(events)}: ${m}`) });
  if (history.built)
    o.progress(
      `history ${si(events)}: built in ${history.buildSeconds.toFixed(0)} s (load ${si(history.loadRate)}/s, process ${si(history.processRate)}/s), ${mib(history.dbBytes)}`,
    );
  const work = tempDataDir('turnstream-history-');
  try {
    const t = performance.now();
    cpSync(history.dataDir, work.dir, { recursive: true });
    const copySeconds = (performance.now() - t) / 1000;
    o.progress(`history ${si(events)}: copied in ${copySeconds.toFixed(1)} s; restarting turnstream start on it …`);
    let restart: RestartResult | undefined;
    let restartError: string | undefined;
    try {
      restart = await measureRestart(work.dir, history.lastEventMs, o.restartTimeoutSeconds);
      o.progress(
        `history ${si(events)}: healthy ${restart.healthyMs.toFixed(0)} ms, first new aggregate ${restart.aggregateMs.toFixed(0)} ms, RSS ${mib(restart.rssBytes)}`,
      );
    } catch (error) {
      restartError = (error as Error).message.split('\n')[0]!.slice(0, 300);
      o.progress(`history ${si(events)}: restart failed: ${restartError}`);
    }
    const replayCliMs: number[] = [];
    const replayMs: number[] = [];
    let replayTurns = 0;
    for (let i = 0; i < 2; i++) {
      const r = await cliMs(['replay', history.middleSession, '--json', '--data-dir', work.dir]);
      replayCliMs.push(r.ms);
      replayTurns = (JSON.parse(r.stdout) as { turns: unknown[] }).turns.length;
    }
    for (let i = 0; i < 3; i++) replayMs.push((await replayInProcess(work.dir, history.middleSession)).ms);
    if (replayTurns === 0) throw new Error(`replay of ${history.middleSession} found no turns`);
    o.progress(`history ${si(events)}: replay ${Math.min(...replayMs).toFixed(0)} ms in-process, ${Math.min(...replayCliMs).toFixed(0)} ms as the CLI`);
    return {
      history,
      copySeconds,
      ...(restart === undefined ? {} : { restart }),
      ...(restartError === undefined ? {} : { restartError }),
      replayMs,
      replayCliMs,
      replayTurns,
    };
  } finally {
    work.remove();
  }
}

/** Kafka takeover after 1M events, when bench/kafka-takeover.ts exists and a broker is given. */
async function measureKafka(o: HistoryStageOptions): Promise<{ check: CheckRow; detail: unknown }> {
  const metric = `Kafka takeover after ${si(KAFKA_EVENTS)} events`;
  const target = `≤ ${TARGET_TAKEOVER_MS / 1000} s`;
  const skip = (why: string) => ({ check: { metric, value: `not measured: ${why}`, target, notes: '' }, detail: { notMeasured: why } });
  if (!existsSync(TAKEOVER)) return skip('bench/kafka-takeover.ts does not exist');
  if (o.brokers === undefined) return skip('no broker (--brokers or TURNSTREAM_TEST_KAFKA_BROKERS)');
  o.progress(`Kafka takeover after ${si(KAFKA_EVENTS)} events (${o.brokers}) …`);
  // Loaded only here: it pulls in kafkajs and the test helpers.
  const { measureTakeover } = (await import(TAKEOVER)) as typeof import('./kafka-takeover.ts');
  try {
    const r: TakeoverResult = await measureTakeover({
      brokers: o.brokers.split(',').map((b) => b.trim()),
      events: KAFKA_EVENTS,
      log: (m) => o.progress(`kafka takeover: ${m}`),
    });
    return {
      check: {
        metric,
        value: `${r.totalMs.toFixed(0)} ms`,
        target,
        status: status(r.totalMs <= TARGET_TAKEOVER_MS),
        notes: `kill -9 → a new aggregate on every partition of the dead process; rebalance ${r.rebalanceMs.toFixed(0)} ms, restore ${r.restoreMs.toFixed(0)} ms; checkpoint every ${r.checkpointEvery}`,
      },
      detail: r,
    };
  } catch (error) {
    return skip(`failed: ${(error as Error).message.split('\n')[0]!.slice(0, 200)}`);
  }
}

const best = (xs: readonly number[]): number => Math.min(...xs);

/** A size's results as a report row: restart, RSS, best replays, and how the history was had. */
function toRow(r: SizeResult): HistoryRow {
  const ok = r.restart !== undefined && r.restart.aggregateMs <= TARGET_RESTART_MS && best(r.replayMs) <= TARGET_REPLAY_MS;
  const h = r.history;
  const { restart } = r;
  return {
    events: h.events,
    ...(restart === undefined
      ? {}
      : {
          healthyMs: restart.healthyMs,
          aggregateMs: restart.aggregateMs,
          postToAggregateMs: restart.postToAggregateMs,
          rssBytes: restart.rssBytes,
          peakRssBytes: restart.peakRssBytes,
        }),
    replayMs: best(r.replayMs),
    replayCliMs: best(r.replayCliMs),
    status: status(ok),
    notes: [
      r.restartError === undefined ? '' : `restart FAILED: ${r.restartError}; `,
      `${mib(h.dbBytes)} store, ${h.turnsStored.toLocaleString('en')} turns, ${h.turnsLeftOpen} open; `,
      h.built ? `built now in ${h.buildSeconds.toFixed(0)} s (load ${si(h.loadRate)}/s, process ${si(h.processRate)}/s)` : `cached (${h.builtAt.slice(0, 16)})`,
      `; copy ${r.copySeconds.toFixed(1)} s`,
    ].join(''),
  };
}

/** The issue's goals, judged at the largest size (RSS: smallest against largest). */
function goalChecks(rows: readonly HistoryRow[], baseline: RestartResult, cliStartMs: number, load: string): CheckRow[] {
  const first = rows[0];
  const last = rows.at(-1);
  if (first === undefined || last === undefined) return [];
  const lastSize = si(last.events);
  const checks: CheckRow[] = [
    {
      metric: `restart after ${lastSize} events: healthy, first new aggregate`,
      value: last.aggregateMs === undefined ? 'failed' : `${last.healthyMs!.toFixed(0)} ms, ${last.aggregateMs.toFixed(0)} ms`,
      target: `≤ ${TARGET_RESTART_MS} ms`,
      status: status(last.aggregateMs !== undefined && last.aggregateMs <= TARGET_RESTART_MS),
      notes: `from spawn of turnstream start to /healthz 200, and to the new turn committed; on an empty data dir ${baseline.healthyMs.toFixed(0)} ms, ${baseline.aggregateMs.toFixed(0)} ms (RSS ${mib(baseline.rssBytes)}); load average ${load}`,
    },
  ];
  if (first.rssBytes !== undefined && last.rssBytes !== undefined && first !== last) {
    const spread = (last.rssBytes - first.rssBytes) / first.rssBytes;
    checks.push({
      metric: `RSS after restart, ${si(first.events)} vs ${lastSize} events`,
      value: `${mib(first.rssBytes)} → ${mib(last.rssBytes)} (${spread >= 0 ? '+' : ''}${(spread * 100).toFixed(0)} %)`,
      target: `within ${TARGET_RSS_SPREAD * 100} %`,
      status: status(Math.abs(spread) <= TARGET_RSS_SPREAD),
      notes: `peak ${mib(first.peakRssBytes ?? 0)} → ${mib(last.peakRssBytes ?? 0)}`,
    });
  }
  checks.push({
    metric: `one-session replay at ${lastSize} events`,
    value: `${last.replayMs.toFixed(0)} ms (CLI ${last.replayCliMs.toFixed(0)} ms)`,
    target: `≤ ${TARGET_REPLAY_MS} ms`,
    status: status(last.replayMs <= TARGET_REPLAY_MS),
    notes: `a session from the middle of the log, in-process incl. opening the store; CLI wall time incl. Node + CLI start-up (\`turnstream --version\`: ${cliStartMs.toFixed(0)} ms)`,
  });
  return checks;
}

/** Runs the stage: one row per size, the goal checks, and the raw results for the JSON report. */
export async function runHistory(o: HistoryStageOptions): Promise<{ rows: HistoryRow[]; checks: CheckRow[]; details: unknown }> {
  // The fixed part: the same start on an empty data dir (Node start-up, imports, an empty store).
  const empty = tempDataDir('turnstream-history-');
  let baseline: RestartResult;
  try {
    baseline = await measureRestart(empty.dir, Date.now() - 60_000, o.restartTimeoutSeconds);
  } finally {
    empty.remove();
  }
  o.progress(
    `empty data dir: healthy ${baseline.healthyMs.toFixed(0)} ms, first new aggregate ${baseline.aggregateMs.toFixed(0)} ms, RSS ${mib(baseline.rssBytes)}`,
  );
  const results: SizeResult[] = [];
  // Restart times are wall times: a busy machine (other processes) shows in them; the load average says how busy.
  const loadBefore = loadavg()[0]!;
  for (const events of o.sizes) results.push(await measureSize(events, o));
  const cliStart = await cliMs(['--version']);
  const rows = results.map(toRow);
  const kafka = await measureKafka(o);
  const load = `${loadBefore.toFixed(1)} → ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores`;
  const checks = [...goalChecks(rows, baseline, cliStart.ms, load), kafka.check];
  const details = {
    loadAverage1m: { before: loadBefore, after: loadavg()[0]! },
    cliStartMs: cliStart.ms,
    emptyDataDir: baseline,
    sizes: results.map(({ history: { dataDir: _d, ...h }, ...r }) => ({ ...r, history: h })),
    kafka: kafka.detail,
  };
  return { rows, checks, details };
}
