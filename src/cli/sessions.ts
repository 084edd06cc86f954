import { TurnstreamError } from '../errors.ts';
import { openBackend } from '../backend/open-backend.ts';
import { int, isoTime, table, usd } from '../report/format.ts';
import { out } from './output.ts';
import { parsePositiveInt } from './parse-values.ts';
import { resolveConfig } from './resolve-config.ts';
import { sessionReport, type SessionReport } from '../report/session-report.ts';
import type { Backend } from '../backend/backend.ts';
import { EMPTY_SESSION_TOTALS } from '../model/session-totals.ts';

const iso = (ms: number): string => isoTime(ms, { invalid: '-', trimMillis: true });

type Flags = Record<string, string | boolean | undefined>;

/** `turnstream sessions list|show <id>`: totals, turns and state as the pipeline committed them. */
export async function sessions(args: string[], flags: Flags): Promise<number> {
  const [sub = 'list', id, ...extra] = args;
  if ((sub === 'list' && id !== undefined) || extra.length > 0)
    throw new TurnstreamError(`too many arguments: ${args.join(' ')}; use 'sessions list' or 'sessions show <id>'`);
  if (sub !== 'list' && sub !== 'show') throw new TurnstreamError(`unknown sessions command "${sub}"; use 'sessions list' or 'sessions show <id>'`);
  if (sub === 'show' && id === undefined)
    throw new TurnstreamError('sessions show needs a session id: turnstream sessions show <id> (see turnstream sessions list)');
  const config = resolveConfig(flags);
  const backend = await openBackend(config, { mode: 'read', purpose: 'report' });
  try {
    if (id === undefined) await list(backend, flags);
    else await show(backend, id, flags);
    return 0;
  } finally {
    await backend.close();
  }
}

async function list(backend: Backend, flags: Flags): Promise<void> {
  const limit = typeof flags['limit'] === 'string' ? parsePositiveInt(flags['limit']) : 100;
  const rows = await backend.readers.state.sessions({ limit });
  if (flags['json']) return out.json(rows);
  if (rows.length === 0) return out.line('no sessions yet: send events with `turnstream send FILE`');
  const header = ['SESSION', 'TURNS', 'LLM CALLS', 'TOOL CALLS', 'INPUT', 'OUTPUT', 'CACHE READ', 'CACHE WRITE', 'COST', 'LAST EVENT'];
  const cells = rows.map(({ session, totals: t }) => [
    session,
    t.turns,
    t.llmCalls,
    t.toolCalls,
    t.inputTokens,
    t.outputTokens,
    t.cacheReadTokens,
    t.cacheWriteTokens,
    usd(t.cost),
    iso(t.lastMs),
  ]);
  out.line(table(header, cells));
}

async function show(backend: Backend, id: string, flags: Flags): Promise<void> {
  const totals = await backend.readers.state.totals(id);
  const state = await backend.readers.state.list(id);
  if (totals === undefined && Object.keys(state).length === 0) {
    throw new TurnstreamError(`no session "${id}" in ${backend.where} (no closed turn and no state yet); 'turnstream sessions list' shows what there is`);
  }
  const turns = await backend.readers.state.turns(id);
  const report = sessionReport(id, totals ?? { ...EMPTY_SESSION_TOTALS, firstMs: NaN, lastMs: NaN }, turns, state);
  if (flags['json']) return out.json(report);
  printReport(report);
}

function printReport(report: SessionReport): void {
  const t = report.totals;
  out.line(`session ${report.session}`);
  out.line(`  ${t.turns} turns, ${t.llmCalls} LLM calls, ${t.toolCalls} tool calls (${t.errors} failed), cost ${usd(t.cost)}`);
  out.line(
    `  tokens: input ${int(t.inputTokens)} (excl. cache), output ${int(t.outputTokens)}, cache read ${int(t.cacheReadTokens)}, cache write ${int(t.cacheWriteTokens)}`,
  );
  out.line('');
  const header = ['TURN', 'START', 'STATUS', 'STOP', 'DURATION', 'LLM', 'TOOLS', 'INPUT', 'OUTPUT', 'COST', 'TOOL CALLS'];
  const cells = report.turns.map((x) => [
    x.turn,
    x.start,
    x.status + (x.revision > 0 ? ` (rev ${x.revision})` : ''),
    x.stopReason ?? '-',
    Number.isFinite(x.durationMs) ? `${(x.durationMs / 1000).toFixed(1)} s` : 'invalid',
    x.llmCallCount,
    x.toolCallCount,
    x.inputTokens,
    x.outputTokens,
    usd(x.cost),
    x.toolNames.join(' → ') || '-',
  ]);
  out.line(table(header, cells));
  out.line('');
  const entries = Object.entries(report.state);
  out.line(entries.length === 0 ? 'state: (empty)' : 'state:');
  for (const [k, v] of entries) out.line(`  ${k} = ${JSON.stringify(v)}`);
}
