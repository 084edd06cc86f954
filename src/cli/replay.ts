import { closeSync, openSync, writeSync } from 'node:fs';
import { TurnstreamError } from '../errors.ts';
import type { loadPriceTable } from '../events/price-table.ts';
import type { LoggedEvent } from '../events/step-event.ts';
import { backfill, type BackfillSummary } from '../replay/backfill.ts';
import { compareCosts } from '../replay/compare-costs.ts';
import { createPacer, type PacerClock } from '../replay/create-pacer.ts';
import type { ReplayableLog, ReplayLogs, SessionExtent } from '../replay/open-replay-logs.ts';
import { openSpanExport, type SpanExport } from '../replay/open-span-export.ts';
import { parseReplayPoint, parseReplayTime } from '../replay/parse-replay-time.ts';
import { feedLine } from '../replay/render-feed-line.ts';
import { renderSummary, renderTimeline } from '../replay/render-timeline.ts';
import { replayReport } from '../replay/replay-report.ts';
import type { ReplayStop } from '../replay/replay-log.ts';
import { replaySession, type ReplaySessionOptions, type SessionReplay } from '../replay/replay-session.ts';
import type { TurnAggregate } from '../model/turn-aggregate.ts';
import { version } from './version.ts';
import { openBackend } from '../backend/open-backend.ts';
import { int, isoTime, table, usd } from '../report/format.ts';
import { out } from './output.ts';
import { readReplayLogs } from '../backend/read-replay-logs.ts';
import { pricesForReplay } from './price-record.ts';
import { resolveConfig } from './resolve-config.ts';
import type { Config } from './settings.ts';

type Flags = Record<string, string | boolean | undefined>;

/** Test seams: the wall clock `--speed` paces by, and the environment `--export` reads OTEL_* from. */
export interface ReplayDeps {
  readonly clock?: PacerClock;
  readonly env?: NodeJS.ProcessEnv;
}

const SESSION_ONLY = ['at', 'ndjson', 'speed', 'export'] as const;
const iso = (ms: number): string => isoTime(ms);
const str = (flags: Flags, name: string): string | undefined => (typeof flags[name] === 'string' ? flags[name] : undefined);

/** Throws on flag combinations that mean nothing, naming what to do instead. */
function checkFlags(args: readonly string[], flags: Flags): void {
  if (flags['all']) {
    for (const f of SESSION_ONLY) if (flags[f] !== undefined) throw new TurnstreamError(`--${f} applies to one session, not to --all (a backfill)`);
    if (args.length > 0 || flags['session'] !== undefined) throw new TurnstreamError('give either a session or --all, not both');
  } else {
    for (const f of ['from', 'to', 'out'])
      if (flags[f] !== undefined)
        throw new TurnstreamError(`--${f} belongs to a backfill: turnstream replay --all --from T1 --to T2 --prices FILE [--out FILE]`);
  }
  if (flags['json'] && flags['ndjson']) throw new TurnstreamError('--json and --ndjson are two outputs: choose one');
  if (args.length > 1) throw new TurnstreamError(`one session at a time (got ${args.join(', ')}); --all replays them all`);
  if (args.length > 0 && flags['session'] !== undefined) throw new TurnstreamError('give the session once: as the argument or with --session');
}

function parseSpeed(value: string): number {
  const n = /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!(n > 0))
    throw new TurnstreamError(
      `--speed: "${value}" is not a positive number; e.g. --speed 10 replays ten times faster than real time (default: as fast as possible)`,
    );
  return n;
}

function openLogs(config: Config): Promise<ReplayLogs> {
  return readReplayLogs(config);
}

/** A progress line on stderr when it is a terminal, at most every 100 ms. */
function progressReporter(label: string): { update(done: number, total: number, extra?: string): void; done(): void } {
  let last = 0;
  const started = performance.now();
  return {
    update(done, total, extra = '') {
      const now = performance.now();
      if (now - last < 100) return;
      last = now;
      const f = total > 0 ? Math.min(1, done / total) : 0;
      const width = 24;
      const bar = '#'.repeat(Math.round(f * width)).padEnd(width, '.');
      const rate = done / Math.max(0.001, (now - started) / 1000);
      out.progress(`${label} [${bar}] ${(f * 100).toFixed(0)} % · ${int(done)} of ${int(total)} events · ${int(rate)}/s${extra}`);
    },
    done: () => out.progressDone(),
  };
}

/**
 * `turnstream replay <session>` and `turnstream replay --all`: rebuild sessions from the event log
 * with the live pipeline's own Processor, never touching the live store. See `HELP.replay`.
 */
export async function replay(args: string[], flags: Flags, deps: ReplayDeps = {}): Promise<number> {
  checkFlags(args, flags);
  const config = resolveConfig(flags);
  const repricing = str(flags, 'prices');
  // The table the store was written with, when it was recorded: a replay prices as the live run did.
  const priced = pricesForReplay({
    ...(config.kafka === undefined ? { dataDir: config.dataDir } : {}),
    ...(config.prices === undefined ? {} : { file: config.prices }),
  });
  const prices = priced.prices;
  if (priced.note !== undefined && repricing === undefined) out.note(`turnstream: ${priced.note}`);
  const windows = { turnIdleTimeoutMs: config.turnIdleTimeoutMs, graceMs: config.graceMs };
  if (flags['all']) return replayAll({ config, flags, prices, windows, repricing });
  const session = str(flags, 'session') ?? args[0];
  if (session === undefined || session === '')
    throw new TurnstreamError("replay needs a session: turnstream replay <session-id> ('turnstream sessions list' shows them), or --all for a backfill");
  return replayOne({ config, flags, prices, windows, repricing, session, deps });
}

interface ReplayRun {
  readonly config: Config;
  readonly flags: Flags;
  readonly prices: ReturnType<typeof loadPriceTable>;
  readonly windows: { turnIdleTimeoutMs: number; graceMs: number };
  readonly repricing: string | undefined;
}

/** `--all`: the range is checked before the logs are opened. */
async function replayAll(o: ReplayRun): Promise<number> {
  const { config, flags } = o;
  const fromMs = str(flags, 'from') === undefined ? undefined : parseReplayTime(str(flags, 'from')!, '--from');
  const toMs = str(flags, 'to') === undefined ? undefined : parseReplayTime(str(flags, 'to')!, '--to');
  if (fromMs !== undefined && toMs !== undefined && fromMs >= toMs)
    throw new TurnstreamError(`empty range: --from ${iso(fromMs)} is not before --to ${iso(toMs)}`);
  const logs = await openLogs(config);
  try {
    return await runBackfill({ ...o, logs, fromMs, toMs });
  } finally {
    await logs.close();
  }
}

interface SessionRun extends ReplayRun {
  readonly session: string;
  readonly deps: ReplayDeps;
}

/** One session: flags are parsed and the span endpoint checked before any log is opened. */
async function replayOne(o: SessionRun): Promise<number> {
  const { config, flags, session, deps } = o;
  const stop = str(flags, 'at') === undefined ? undefined : parseReplayPoint(str(flags, 'at')!);
  const speed = str(flags, 'speed') === undefined ? undefined : parseSpeed(str(flags, 'speed')!);
  // Before reading anything: a missing endpoint is a configuration error.
  const spanExport: SpanExport | undefined = flags['export']
    ? await openSpanExport({ version: version(), ...(deps.env === undefined ? {} : { env: deps.env }) })
    : undefined;
  let logs: ReplayLogs | undefined;
  try {
    logs = await openLogs(config);
    const extent = await logs.extent?.(session);
    if (logs.extent !== undefined && extent === undefined)
      throw new TurnstreamError(`no events of session "${session}" in ${logs.where}; 'turnstream sessions list' shows the sessions`);
    if (extent !== undefined && stop?.kind === 'time' && stop.ms < extent.firstMs) {
      throw new TurnstreamError(
        `empty range: session "${session}" has no events at or before ${iso(stop.ms)}; its events run from ${iso(extent.firstMs)} to ${iso(extent.lastMs)}`,
      );
    }
    const opened = await logs.forSession(session);
    try {
      return await replayOpened({ ...o, opened, extent, stop, speed, spanExport });
    } finally {
      await opened.release();
    }
  } finally {
    await spanExport?.finish();
    await logs?.close();
  }
}

interface OpenedRun extends SessionRun {
  readonly opened: ReplayableLog;
  readonly extent: SessionExtent | undefined;
  readonly stop: ReplayStop | undefined;
  readonly speed: number | undefined;
  readonly spanExport: SpanExport | undefined;
}

/** Replays the opened log, checks that it found what was asked for, then exports and reports. */
async function replayOpened(o: OpenedRun): Promise<number> {
  const { flags, session, opened, extent, stop, speed, spanExport, deps } = o;
  const head = await opened.log.head();
  const progress = speed === undefined && !flags['ndjson'] ? progressReporter(`replaying ${session}`) : undefined;
  const live = speed !== undefined && !flags['json'] && !flags['ndjson'];
  const r = await replaySession({
    log: opened.log,
    ...(opened.focusedRead === undefined ? {} : { focusedRead: opened.focusedRead }),
    session,
    prices: o.prices,
    windows: o.windows,
    ...(extent === undefined ? {} : { lastPos: extent.lastPos }),
    ...(stop === undefined ? {} : { stop }),
    ...(speed === undefined ? {} : { pace: createPacer({ speed, ...(deps.clock === undefined ? {} : { clock: deps.clock }) }) }),
    ...sessionOutput(flags, live, speed, spanExport),
    ...(progress === undefined ? {} : { onProgress: (pos: number) => progress.update(pos, head) }),
  });
  progress?.done();
  if (stop?.kind === 'event' && !r.stopFound)
    throw new TurnstreamError(
      `--at: no event with id "${stop.id}" in ${opened.label} (--at takes an RFC 3339 time such as 2026-03-02T10:00:05Z, or the id of an event)`,
    );
  if (r.events === 0) {
    throw stop === undefined
      ? new TurnstreamError(`no events of session "${session}" in ${opened.label}; 'turnstream sessions list' shows the sessions`)
      : new TurnstreamError(`empty range: session "${session}" has no events up to ${stop.kind === 'time' ? iso(stop.ms) : `event ${stop.id}`}`);
  }
  if (spanExport !== undefined && !(await exportSpans(spanExport, r, speed))) return 1;
  if (flags['ndjson']) return 0;
  await printSessionReport(o, r, live);
  return 0;
}

/** What the replay prints as it goes (`--ndjson`: raw events; paced: a live feed) and where spans go. */
function sessionOutput(
  flags: Flags,
  live: boolean,
  speed: number | undefined,
  spanExport: SpanExport | undefined,
): Pick<ReplaySessionOptions, 'onEvent' | 'onAggregate'> {
  const onAggregate = (a: TurnAggregate): void => {
    if (live) out.line(feedLine.turn(a));
    // Paced: spans go out as turns close, as they did live. Otherwise once, at the end, latest revisions only.
    if (speed !== undefined) spanExport?.send([a]);
  };
  const onEvent = flags['ndjson']
    ? ({ event }: LoggedEvent) => {
        const { timeMs: _t, ...raw } = event;
        out.line(JSON.stringify(raw));
      }
    : live
      ? ({ event }: LoggedEvent) => out.line(feedLine.event(event))
      : undefined;
  return { onAggregate, ...(onEvent === undefined ? {} : { onEvent }) };
}

/** `--export`: false (after a note) when the collector did not confirm every span. */
async function exportSpans(spanExport: SpanExport, r: SessionReplay, speed: number | undefined): Promise<boolean> {
  if (speed === undefined) spanExport.send(r.turns);
  const x = await spanExport.finish();
  if (x.error !== undefined || x.exported < x.spans) {
    out.note(
      `turnstream: re-export to ${spanExport.describe} failed: ${x.exported} of ${x.spans} spans confirmed${x.error === undefined ? '' : ` (${x.error.message})`}`,
    );
    return false;
  }
  out.note(`re-exported ${x.spans} spans of ${x.turns} turns to ${spanExport.describe} (same trace and span ids as the live run)`);
  return true;
}

/** The timeline (or summary after a live feed, or JSON), with the cost comparison when `--prices` re-priced. */
async function printSessionReport(o: OpenedRun, r: SessionReplay, live: boolean): Promise<void> {
  const { config, flags, session, stop, repricing } = o;
  let comparison: (ReturnType<typeof compareCosts> & { prices: NonNullable<typeof repricing> }) | undefined;
  if (repricing !== undefined) {
    const reader = await openBackend(config, { mode: 'read', purpose: 'report' });
    try {
      comparison = { prices: repricing, ...compareCosts(r.turns, await reader.readers.state.turns(session)) };
    } finally {
      await reader.close();
    }
  }
  const report = replayReport(r, { ...(stop === undefined ? {} : { stop }), ...(comparison === undefined ? {} : { repricing: comparison }) });
  if (flags['json']) out.json(report);
  else if (live) out.line(`\n${renderSummary(report)}`);
  else out.line(renderTimeline(report));
}

interface BackfillRun extends ReplayRun {
  readonly logs: ReplayLogs;
  readonly fromMs: number | undefined;
  readonly toMs: number | undefined;
}

/** Buffers NDJSON lines into large writes: a backfill can write millions of turns. */
function ndjsonFile(path: string): { write(value: unknown): void; close(): void } {
  let fd: number;
  try {
    fd = openSync(path, 'w');
  } catch (error) {
    throw new TurnstreamError(`--out: cannot write ${path}: ${(error as Error).message}`, { cause: error });
  }
  let buffer = '';
  const flush = (): void => {
    if (buffer !== '') writeSync(fd, buffer);
    buffer = '';
  };
  return {
    write(value) {
      buffer += `${JSON.stringify(value)}\n`;
      if (buffer.length > 1 << 20) flush();
    },
    close() {
      flush();
      closeSync(fd);
    },
  };
}

async function runBackfill(o: BackfillRun): Promise<number> {
  const outFile = str(o.flags, 'out');
  const reader = await openBackend(o.config, { mode: 'read', purpose: 'report' });
  let file: ReturnType<typeof ndjsonFile> | undefined;
  try {
    file = outFile === undefined ? undefined : ndjsonFile(outFile);
  } catch (error) {
    await reader.close();
    throw error;
  }
  const progress = progressReporter('backfill');
  let summary: BackfillSummary;
  try {
    summary = await backfill({
      logs: await o.logs.all(),
      prices: o.prices,
      windows: o.windows,
      ...(o.fromMs === undefined ? {} : { fromMs: o.fromMs }),
      ...(o.toMs === undefined ? {} : { toMs: o.toMs }),
      recorded: (session) => reader.readers.state.turns(session),
      ...(file === undefined ? {} : { write: (t) => file.write(t) }),
      onProgress: (p) => progress.update(p.done, p.total, ` · ${int(p.turns)} turns in range`),
    });
  } finally {
    progress.done();
    file?.close();
    await reader.close();
  }
  const range = `${o.fromMs === undefined ? 'the start' : iso(o.fromMs)} and ${o.toMs === undefined ? 'the end' : iso(o.toMs)}`;
  if (summary.turns === 0)
    throw new TurnstreamError(`empty range: no turn started between ${range} in ${o.logs.where} (${int(summary.events)} events replayed)`);
  const prices = o.repricing ?? (o.config.prices === undefined ? 'the built-in prices' : `${o.config.prices} (configured)`);
  if (o.flags['json']) {
    out.json({
      prices,
      from: o.fromMs === undefined ? null : iso(o.fromMs),
      to: o.toMs === undefined ? null : iso(o.toMs),
      out: outFile ?? null,
      ...summary,
      firstStart: summary.firstStartMs === undefined ? null : iso(summary.firstStartMs),
      lastStart: summary.lastStartMs === undefined ? null : iso(summary.lastStartMs),
    });
  } else printBackfill(summary, { prices, range, outFile });
  return 0;
}

/** The backfill summary as text: totals, the cost change by model, the ten sessions that moved most. */
function printBackfill(summary: BackfillSummary, { prices, range, outFile }: { prices: string; range: string; outFile: string | undefined }): void {
  const change = summary.newCost - summary.oldCost;
  out.line(
    `backfill with ${prices}: ${int(summary.turns)} turns of ${int(summary.sessions.length)} sessions started between ${range} (${int(summary.events)} events replayed)`,
  );
  out.line(
    `cost ${usd(summary.oldCost)} recorded → ${usd(summary.newCost)} re-priced (${change < 0 ? '-' : '+'}${usd(Math.abs(change))}) over ${int(summary.matched)} recorded turns`,
  );
  if (summary.unmatched > 0)
    out.line(`${int(summary.unmatched)} turns not recorded at the same revision by the live pipeline: ${usd(summary.unmatchedNewCost)} re-priced`);
  out.line('');
  out.line(
    table(
      ['PROVIDER', 'MODEL', 'CALLS', 'RECORDED', 'RE-PRICED'],
      summary.models.map((m) => [m.provider, m.model, m.calls, usd(m.oldCost), usd(m.newCost)]),
    ),
  );
  const top = summary.sessions.slice(0, 10);
  out.line('');
  out.line(
    table(
      ['SESSION', 'TURNS', 'RECORDED', 'RE-PRICED', 'CHANGE'],
      top.map((s) => [s.session, s.turns, usd(s.oldCost), usd(s.newCost), `${s.newCost - s.oldCost < 0 ? '-' : '+'}${usd(Math.abs(s.newCost - s.oldCost))}`]),
    ),
  );
  if (summary.sessions.length > top.length) out.line(`… and ${int(summary.sessions.length - top.length)} more sessions (--json lists them all)`);
  out.line('');
  out.line(
    outFile === undefined
      ? 'dry run: nothing written; --out FILE writes the re-priced turn aggregates (NDJSON)'
      : `wrote ${int(summary.turns)} re-priced turn aggregates to ${outFile} (NDJSON, one turn record per line)`,
  );
}
