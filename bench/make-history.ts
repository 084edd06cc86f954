/**
 * A realistic embedded store with a long history, written fast: what a `turnstream start` that
 * took `events` events would leave in its data dir.
 *
 *   node bench/make-history.ts --data-dir DIR --events N [--sessions N] [--seed N]
 *
 * prints the `HistoryResult` as JSON (progress on stderr). bench/history-cache.ts runs it as a
 * child process (its own heap), keyed and cached; see there.
 *
 * Two phases:
 *  - load: the benchmark workload (bench/workload.ts shapes: turns of ~10 events, llm.usage with
 *    tokens, tool calls, state writes; `sessions` concurrent sessions, so that many are still open
 *    at the end; generated in a worker thread), appended with the store's own
 *    `SqliteEventLog.appendSync` in 20k-event transactions: the log's rows, dedupe index and
 *    anything else the log writes on append are the real ones. No HTTP, no per-request commits.
 *  - process: the real embedded pipeline opened on the store (`openEmbeddedPipeline`: store lock,
 *    Processor, state commits, whatever the processor checkpoints) catches up with the log, then
 *    is closed the way `turnstream start` closes it on SIGTERM.
 *
 * A data dir that already holds a prefix of the same workload (same sessions and seed: the
 * generator is sequential, so N events are the first N of any longer run) is continued: the first
 * `head` lines are generated and skipped (checked against the stored row), the rest appended,
 * then processed. That is how the cache grows 1M → 5M → 10M without writing 16M events.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { decodeEvent, DEFAULT_DECODE_LIMITS } from '../src/events/decode-event.ts';
import { loadPriceTable } from '../src/events/price-table.ts';
import { parseLoggedEvent } from '../src/events/parse-logged-event.ts';
import type { AppendInput } from '../src/log/event-log.ts';
import { openEmbeddedPipeline } from '../src/pipeline/open-embedded-pipeline.ts';
import { openEmbeddedStore } from '../src/state/open-embedded-store.ts';
import { benchLogger } from './embedded-throughput.ts';
import { secondsSince } from './measure.ts';
import { generateWorkload, type WorkloadStats } from './workload.ts';

/** Concurrent sessions of a history: every one of them is still open when it ends. */
export const HISTORY_SESSIONS = 500;
export const HISTORY_SEED = 42;

export interface HistoryOptions {
  readonly dataDir: string;
  readonly events: number;
  /** Concurrent sessions (default 500): the sessions (with 2–4 open turns each) still open at the end. */
  readonly sessions?: number;
  readonly seed?: number;
  /** Events per append transaction (default 20,000). */
  readonly batchSize?: number;
  readonly onProgress?: (message: string) => void;
}

export interface HistoryResult {
  readonly events: number;
  readonly sessions: number;
  readonly seed: number;
  /** Events the data dir held already (a continued prefix), 0 for a fresh build. */
  readonly resumedFrom: number;
  readonly loadSeconds: number;
  /** Appended events per second (generate + decode + append), this call's events only. */
  readonly loadRate: number;
  readonly processSeconds: number;
  /** This call's events per second through the pipeline, from open (incl. its restore) to close. */
  readonly processRate: number;
  /** Event time of the last event: new traffic after a restart continues from here. */
  readonly lastEventMs: number;
  /** A session whose events are in the middle of the log (for the one-session replay). */
  readonly middleSession: string;
  readonly turnsStored: number;
  readonly sessionsStarted: number;
  readonly turnsLeftOpen: number;
  readonly dbBytes: number;
}

const fileBytes = (path: string): number => statSync(path, { throwIfNoEntry: false })?.size ?? 0;

/** What the line-generating worker posts: chunks of lines, the line at the resume point, then the end. */
type LinesMessage =
  | { readonly kind: 'lines'; readonly lines: string[] }
  | { readonly kind: 'check'; readonly line: string }
  | { readonly kind: 'done'; readonly stats: WorkloadStats; readonly lastLine: string };

interface LinesJob {
  readonly historyLines: true;
  readonly events: number;
  readonly sessions: number;
  readonly seed: number;
  /** Lines already in the log: generated (the generator is sequential) but not posted; the last one is checked. */
  readonly skip: number;
  readonly chunk: number;
  /** Chunks posted and not yet appended (Int32 at 0): the worker waits at MAX_IN_FLIGHT, so memory stays bounded. */
  readonly inFlight: SharedArrayBuffer;
}

const MAX_IN_FLIGHT = 6;

/** The worker's side: generates the workload and posts it in chunks, never more than MAX_IN_FLIGHT ahead. */
function postLines(job: LinesJob): void {
  const port = parentPort!;
  const inFlight = new Int32Array(job.inFlight);
  let n = 0;
  let lastLine = '';
  let chunk: string[] = [];
  const post = (): void => {
    for (let v = Atomics.load(inFlight, 0); v >= MAX_IN_FLIGHT; v = Atomics.load(inFlight, 0)) Atomics.wait(inFlight, 0, v);
    Atomics.add(inFlight, 0, 1);
    port.postMessage({ kind: 'lines', lines: chunk } satisfies LinesMessage);
    chunk = [];
  };
  const { stats } = generateWorkload({
    events: job.events,
    sessions: job.sessions,
    seed: job.seed,
    onLine: (line) => {
      n++;
      lastLine = line;
      if (n < job.skip) return;
      if (n === job.skip) return port.postMessage({ kind: 'check', line } satisfies LinesMessage);
      chunk.push(line);
      if (chunk.length >= job.chunk) post();
    },
  });
  if (chunk.length > 0) post();
  port.postMessage({ kind: 'done', stats, lastLine } satisfies LinesMessage);
}

/**
 * Appends the workload's lines after the log's head. A worker thread generates the lines (the
 * generator costs about as much as parse + append), this thread parses them as the log's reader
 * does (`parseLoggedEvent`: the event the store would hand back for that text), checks every 64th
 * with the ingest decoder (`decodeEvent`: the workload must be valid input), and appends.
 */
// long: one message handler (check, lines, done) over the worker's protocol, with the append and its checks inline
async function load(o: HistoryOptions, sessions: number, seed: number): Promise<{ resumedFrom: number; lastLine: string; stats: WorkloadStats }> {
  const store = openEmbeddedStore({ dataDir: o.dataDir, writable: true });
  const head = store.log.headSync();
  if (head > o.events) {
    store.close();
    throw new Error(`${o.dataDir} holds ${head} events already, more than the ${o.events} asked for`);
  }
  const inFlight = new SharedArrayBuffer(4);
  const counter = new Int32Array(inFlight);
  const job: LinesJob = { historyLines: true, events: o.events, sessions, seed, skip: head, chunk: o.batchSize ?? 20_000, inFlight };
  const worker = new Worker(new URL(import.meta.url), { workerData: job });
  const now = Date.now();
  let appended = head;
  let nextReport = Math.ceil((head + 1) / 1_000_000) * 1_000_000;
  try {
    return await new Promise((resolve, reject) => {
      worker.on('error', reject);
      worker.on('exit', (code) => {
        if (code !== 0) reject(new Error(`history: the line generator exited with code ${code}`));
      });
      let failed = false;
      worker.on('message', (m: LinesMessage) => {
        if (failed) return; // chunks already queued after a failure are not appended
        try {
          if (m.kind === 'check') {
            if (store.log.bodyAt(head) !== m.line)
              throw new Error(
                `${o.dataDir}: the event at position ${head} is not this workload's (sessions ${sessions}, seed ${seed}); remove it or use --fresh-history`,
              );
          } else if (m.kind === 'lines') {
            const batch: AppendInput[] = new Array(m.lines.length);
            for (let i = 0; i < m.lines.length; i++) {
              const raw = m.lines[i]!;
              if ((appended + i) % 64 === 0) {
                const d = decodeEvent(raw, now, DEFAULT_DECODE_LIMITS);
                if (!d.ok) throw new Error(`history: workload line ${appended + i + 1} is rejected by decode (${d.reason}: ${d.message})`);
              }
              batch[i] = { event: parseLoggedEvent(raw), raw };
            }
            const outcomes = store.log.appendSync(batch);
            const dup = outcomes.findIndex((r) => r.status !== 'appended');
            if (dup >= 0) throw new Error(`history: event ${batch[dup]!.event.id} was a duplicate; the data dir does not hold this workload's prefix`);
            appended += batch.length;
            Atomics.sub(counter, 0, 1);
            Atomics.notify(counter, 0);
            if (appended >= nextReport) {
              o.onProgress?.(`appended ${(appended / 1e6).toFixed(0)}M of ${(o.events / 1e6).toFixed(1)}M events`);
              nextReport += 1_000_000;
            }
          } else {
            if (appended !== o.events) throw new Error(`history: appended ${appended} events, expected ${o.events}`);
            resolve({ resumedFrom: head, lastLine: m.lastLine, stats: m.stats });
          }
        } catch (error) {
          failed = true;
          reject(error);
        }
      });
    });
  } finally {
    // A worker waiting for room (after a failed append) must not wait any more: release it, then stop it.
    Atomics.store(counter, 0, -(2 ** 30));
    Atomics.notify(counter, 0);
    await worker.terminate();
    store.close();
  }
}

/** Builds (or continues) a history in `dataDir`; see the module comment. */
export async function makeHistory(o: HistoryOptions): Promise<HistoryResult> {
  const sessions = o.sessions ?? HISTORY_SESSIONS;
  const seed = o.seed ?? HISTORY_SEED;
  let t = process.hrtime.bigint();
  const { resumedFrom, lastLine, stats } = await load(o, sessions, seed);
  const loadSeconds = secondsSince(t);
  const added = o.events - resumedFrom;
  o.onProgress?.(`loaded ${added.toLocaleString('en')} events in ${loadSeconds.toFixed(1)} s; processing …`);

  t = process.hrtime.bigint();
  const pipeline = await openEmbeddedPipeline({ dataDir: o.dataDir, prices: loadPriceTable(), logger: benchLogger });
  try {
    if (pipeline.processor.position !== o.events) throw new Error(`history: the processor caught up to ${pipeline.processor.position}, not ${o.events}`);
    if (pipeline.pump.failure !== undefined) throw pipeline.pump.failure;
  } finally {
    await pipeline.close();
  }
  const processSeconds = secondsSince(t);

  const store = openEmbeddedStore({ dataDir: o.dataDir });
  try {
    const middle = store.db.prepare('SELECT session FROM events WHERE pos = ?').get(Math.max(1, Math.floor(o.events / 2))) as { session: string };
    const turns = store.db.prepare('SELECT count(*) AS n FROM turns').get() as { n: number };
    const last = decodeEvent(lastLine, Date.now(), DEFAULT_DECODE_LIMITS);
    if (!last.ok) throw new Error('history: the last workload line does not decode');
    return {
      events: o.events,
      sessions,
      seed,
      resumedFrom,
      loadSeconds,
      loadRate: added / loadSeconds,
      processSeconds,
      processRate: added / processSeconds,
      lastEventMs: last.event.timeMs,
      middleSession: middle.session,
      turnsStored: turns.n,
      sessionsStarted: stats.sessionsStarted,
      turnsLeftOpen: stats.turnsLeftOpen,
      dbBytes: fileBytes(join(o.dataDir, 'turnstream.db')) + fileBytes(join(o.dataDir, 'turnstream.db-wal')),
    };
  } finally {
    store.close();
  }
}

if (!isMainThread && (workerData as Partial<LinesJob> | undefined)?.historyLines === true) postLines(workerData as LinesJob);
else if (import.meta.main) {
  const { values } = parseArgs({
    options: { 'data-dir': { type: 'string' }, events: { type: 'string' }, sessions: { type: 'string' }, seed: { type: 'string' } },
  });
  if (values['data-dir'] === undefined || values.events === undefined) {
    process.stderr.write('usage: node bench/make-history.ts --data-dir DIR --events N [--sessions N] [--seed N]\n');
    process.exit(2);
  }
  const result = await makeHistory({
    dataDir: values['data-dir'],
    events: Number(values.events),
    ...(values.sessions === undefined ? {} : { sessions: Number(values.sessions) }),
    ...(values.seed === undefined ? {} : { seed: Number(values.seed) }),
    onProgress: (m) => process.stderr.write(`[make-history] ${m}\n`),
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
