import { existsSync } from 'node:fs';
import { decodeLimits } from './decode-limits.ts';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { TurnstreamError } from '../errors.ts';
import { loadPriceTable, type PriceTable } from '../events/price-table.ts';
import { openBackend } from '../backend/open-backend.ts';
import type { ServingBackend } from '../backend/backend.ts';
import type { EventSink, SendResult } from '../sources/claude/event-sink.ts';
import { httpSink } from '../sources/claude/http-sink.ts';
import { importClaude, type ImportProgress } from '../sources/claude/import-claude.ts';
import { SKIP_REASON_LABELS, type ImportStats } from '../sources/claude/import-stats.ts';
import { ingestorSink } from '../sources/claude/ingestor-sink.ts';
import type { SessionTally } from '../sources/claude/session-tally.ts';
import { watchClaude } from '../sources/claude/watch-claude.ts';
import { int, isoTime, table, usd } from '../report/format.ts';
import { out } from './output.ts';
import { parsePositiveInt } from './parse-values.ts';
import { recordPrices } from './price-record.ts';
import { resolveConfig } from './resolve-config.ts';
import { serverUrl } from './server-url.ts';
import type { Config } from './settings.ts';

type Flags = Record<string, string | boolean | undefined>;

const SESSIONS_SHOWN = 20;

/** Claude Code's transcript directories: `$CLAUDE_CONFIG_DIR/projects` (a comma-separated list is allowed), else `~/.claude/projects`. */
export function defaultClaudeRoots(env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs = (env['CLAUDE_CONFIG_DIR'] ?? '')
    .split(',')
    .map((d) => d.trim())
    .filter((d) => d !== '');
  return (dirs.length > 0 ? dirs : [join(homedir(), '.claude')]).map((d) => join(d, 'projects'));
}

/** `turnstream import claude [DIR…]`: Claude Code transcripts → events, once or following them (--watch). */
export async function importCommand(args: string[], flags: Flags): Promise<number> {
  const [source, ...dirs] = args;
  if (source === undefined) throw new TurnstreamError("import needs a source: turnstream import claude [DIR] (run 'turnstream import --help')");
  if (source !== 'claude') throw new TurnstreamError(`unknown import source "${source}"; supported: claude`);
  const config = resolveConfig(flags);
  const roots = (dirs.length > 0 ? dirs : defaultClaudeRoots()).map((d) => resolve(d));
  for (const root of roots) {
    if (!existsSync(root)) {
      throw new TurnstreamError(
        dirs.length > 0
          ? `${root} does not exist; pass a directory of Claude Code transcripts (*.jsonl) or one transcript file`
          : `no Claude Code transcripts at ${root}; pass their directory (turnstream import claude DIR) or set CLAUDE_CONFIG_DIR`,
      );
    }
  }
  const batchSize = typeof flags['batch'] === 'string' ? parsePositiveInt(flags['batch']) : 2000;
  const prices = loadPriceTable(config.prices === undefined ? {} : { file: config.prices });
  const target = await openTarget(config, flags, prices);
  try {
    const run = { roots, target, config, flags, batchSize, prices };
    return flags['watch'] === true ? await watch(run) : await importOnce(run);
  } finally {
    await target.close();
  }
}

interface Target {
  readonly sink: EventSink;
  readonly pipeline: ServingBackend | undefined;
  close(): Promise<void>;
}

/** Like `send`: --data-dir (flag or env) writes into an embedded store, else POST to --url. */
async function openTarget(config: Config, flags: Flags, prices: PriceTable): Promise<Target> {
  const direct = typeof flags['data-dir'] === 'string' || (process.env['TURNSTREAM_DATA_DIR'] ?? '') !== '';
  if (direct && typeof flags['url'] === 'string') throw new TurnstreamError('choose one target: --url (a running server) or --data-dir (an embedded store)');
  if (!direct) {
    const url = serverUrl(config);
    try {
      await fetch(new URL('/healthz', url), { signal: AbortSignal.timeout(3000) });
    } catch (error) {
      throw new TurnstreamError(
        `cannot reach turnstream at ${url} (${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}). Start it with 'turnstream start', or import without a server: turnstream import claude --data-dir ./.turnstream`,
        { cause: error },
      );
    }
    return { sink: httpSink({ url, ...(config.token === undefined ? {} : { token: config.token }) }), pipeline: undefined, close: async () => undefined };
  }
  const dataDir = resolve(config.dataDir);
  // --data-dir means the embedded store, whatever --kafka says.
  const pipeline = await openBackend({ ...config, kafka: undefined }, { mode: 'serve', prices, limits: decodeLimits(config) });
  recordPrices(dataDir, config.prices);
  return {
    sink: ingestorSink(pipeline.ingest, { target: `data dir ${dataDir}`, ...(pipeline.knownIds === undefined ? {} : { knownIds: pipeline.knownIds }) }),
    pipeline,
    close: () => pipeline.close(),
  };
}

interface Run {
  readonly roots: string[];
  readonly target: Target;
  readonly config: Config;
  readonly flags: Flags;
  readonly batchSize: number;
  readonly prices: PriceTable;
}

async function importOnce({ roots, target, config, flags, batchSize, prices }: Run): Promise<number> {
  const lateBefore = (await target.pipeline?.readers.deadLetters.countByReason())?.late ?? 0;
  let r: Awaited<ReturnType<typeof importClaude>>;
  try {
    r = await importClaude({ roots, sink: target.sink, prices, idleMs: config.turnIdleTimeoutMs, batchSize, onProgress: showProgress });
  } finally {
    out.progressDone();
  }
  await target.pipeline?.settled();
  const late = ((await target.pipeline?.readers.deadLetters.countByReason())?.late ?? 0) - lateBefore;
  const seconds = { read: r.readMillis / 1000, send: r.sendMillis / 1000 };
  if (flags['json']) {
    out.json({
      target: target.sink.target,
      roots,
      ...r.stats.toJSON(),
      sent: { ...r.sent, rejections: r.sent.rejections.slice(0, 100) },
      late,
      activeFiles: r.activeFiles,
      seconds,
      sessions: r.sessions.map(sessionJson),
    });
    return r.sent.rejected > 0 ? 1 : 0;
  }
  out.line(`Claude Code transcripts → ${target.sink.target}`);
  printStats(roots, r.stats, r.sent);
  if (r.activeFiles > 0)
    out.line(
      `  note: ${r.activeFiles} transcript${r.activeFiles === 1 ? ' was' : 's were'} written to in the last ${Math.round(config.turnIdleTimeoutMs / 60_000)} min: their sessions stay open, and a last call still without its stop reason waits for the next import (or follow them with --watch)`,
    );
  if (late > 0)
    out.line(
      `  warning: ${int(late)} events belong to turns the store had already closed (past their --grace) and were dead-lettered as late, not counted (turnstream dead-letters --reason late)`,
    );
  const mb = r.stats.bytes / 1e6;
  out.line(
    `  time: read+map ${seconds.read.toFixed(2)} s (${(mb / Math.max(seconds.read, 1e-3)).toFixed(1)} MB/s), send ${seconds.send.toFixed(2)} s (${int(r.stats.eventTotal / Math.max(seconds.send, 1e-3))} events/s)`,
  );
  if (r.sessions.length > 0) {
    out.line('');
    out.line(sessionTable(r.sessions.slice(0, SESSIONS_SHOWN)));
    if (r.sessions.length > SESSIONS_SHOWN) out.line(`… ${r.sessions.length - SESSIONS_SHOWN} more (--json lists all)`);
    if (target.pipeline !== undefined) out.line(`\nturns, tool calls and cost per turn: turnstream sessions show <SESSION> --data-dir ${config.dataDir}`);
  }
  for (const x of r.sent.rejections.slice(0, 20)) out.line(`  rejected ${x.id ?? '?'}: ${x.reason}: ${x.message}`);
  return r.sent.rejected > 0 ? 1 : 0;
}

async function watch({ roots, target, config, flags, batchSize, prices }: Run): Promise<number> {
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  out.note(`watching ${roots.join(', ')} → ${target.sink.target}`);
  let failing = false;
  let first = true;
  try {
    const r = await watchClaude({
      roots,
      sink: target.sink,
      prices,
      signal: controller.signal,
      idleMs: config.turnIdleTimeoutMs,
      batchSize,
      onSent: (result, events) => {
        failing = false;
        const sessions = new Set(events.map((e) => e.event.session)).size;
        const calls = events.filter((e) => e.event.type === 'llm.usage').length;
        const tools = events.filter((e) => e.event.type === 'tool.start').length;
        const turns = events.filter((e) => e.event.type === 'turn.start').length;
        const line = { at: new Date().toISOString(), initial: first, sessions, turns, llmCalls: calls, toolCalls: tools, ...counts(result) };
        if (flags['json']) out.line(JSON.stringify(line));
        else
          out.line(
            `${line.at.slice(11, 19)}  ${first ? 'existing transcripts: ' : ''}${int(events.length)} events from ${sessions} session${sessions === 1 ? '' : 's'} (${plural(turns, 'new turn')}, ${plural(calls, 'LLM call')}, ${plural(tools, 'tool call')}): ${int(result.accepted)} accepted, ${int(result.duplicate)} duplicate, ${int(result.rejected)} rejected`,
          );
      },
      onError: (error) => {
        if (!failing) out.note(`turnstream: ${error.message} (will retry)`);
        failing = true;
      },
      onReady: () => {
        first = false;
        out.note('following new lines and files… (Ctrl-C to stop)');
      },
      onPollingOnly: (reason) => out.note(`turnstream: ${reason}`),
    });
    if (!flags['json']) {
      out.line('');
      out.line(`stopped watching; in total:`);
      printStats(roots, r.stats, r.sent);
    }
    return r.sent.rejected > 0 ? 1 : 0;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

const plural = (n: number, what: string): string => `${int(n)} ${what}${n === 1 ? '' : 's'}`;

const counts = (r: SendResult): { accepted: number; duplicate: number; rejected: number } => ({
  accepted: r.accepted,
  duplicate: r.duplicate,
  rejected: r.rejected,
});

function printStats(roots: readonly string[], s: ImportStats, sent: SendResult): void {
  out.line(
    `  read: ${roots.join(', ')}: ${int(s.files)} files (${s.mainFiles} main, ${s.subagentFiles} subagent), ${(s.bytes / 1e6).toFixed(1)} MB, ${int(s.lines)} lines`,
  );
  const by = (t: string): number => s.events.get(t) ?? 0;
  out.line(
    `  mapped: ${int(s.sessions.size)} sessions, ${int(by('turn.start'))} turns, ${int(by('llm.usage'))} LLM calls, ${int(by('tool.start'))} tool calls → ${int(s.eventTotal)} events`,
  );
  out.line(`  sent: ${int(sent.accepted)} accepted, ${int(sent.duplicate)} duplicate (already imported), ${int(sent.rejected)} rejected`);
  const skipped = [...s.skipped].sort((a, b) => b[1] - a[1]).map(([reason, n]) => `${int(n)} ${SKIP_REASON_LABELS[reason]}`);
  out.line(
    `  skipped: ${skipped.length === 0 ? 'nothing' : skipped.join(', ')} (${int(s.ignoredLines)} lines with nothing to import: progress, snapshots, reminders)`,
  );
}

function sessionTable(sessions: readonly SessionTally[]): string {
  return (
    table(
      ['SESSION', 'PROJECT', 'TURNS', 'LLM CALLS', 'TOOL CALLS', 'INPUT', 'OUTPUT', 'CACHE READ', 'CACHE WRITE', 'COST', 'LAST ACTIVITY'],
      sessions.map((t) => [
        t.session,
        t.project ?? '-',
        t.turns,
        t.llmCalls,
        t.toolCalls,
        t.inputTokens,
        t.outputTokens,
        t.cacheReadTokens,
        t.cacheWriteTokens,
        usd(t.cost) + (t.unpricedModels.size > 0 ? ' *' : ''),
        isoTime(t.lastMs).slice(0, 16).replace('T', ' '),
      ]),
    ) +
    (sessions.some((t) => t.unpricedModels.size > 0)
      ? `\n* unpriced models (cost 0): ${[...new Set(sessions.flatMap((t) => [...t.unpricedModels]))].join(', ')}; add them with --prices FILE`
      : '')
  );
}

const sessionJson = (t: SessionTally): Record<string, unknown> => ({
  ...t,
  unpricedModels: [...t.unpricedModels],
  first: isoTime(t.firstMs),
  last: isoTime(t.lastMs),
});

function showProgress(p: ImportProgress): void {
  const width = 30;
  const ratio = p.total === 0 ? 1 : Math.min(1, p.done / p.total);
  const filled = Math.round(ratio * width);
  const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
  const amount = p.phase === 'read' ? `${(p.done / 1e6).toFixed(1)}/${(p.total / 1e6).toFixed(1)} MB` : `${int(p.done)}/${int(p.total)} events`;
  out.progress(`${p.phase === 'read' ? 'reading' : 'sending'} ${bar} ${Math.round(ratio * 100)}% ${amount}`);
}
