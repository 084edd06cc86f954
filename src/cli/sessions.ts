import { TurnstreamError } from '../errors.ts';
import { openBackend } from '../backend/open-backend.ts';
import { int, isoTime, table, usd } from '../report/format.ts';
import { out } from './output.ts';
import { parsePositiveInt } from './parse-values.ts';
import { resolveConfig } from './resolve-config.ts';
import { sessionReport } from '../report/session-report.ts';

const iso = (ms: number): string => isoTime(ms, { invalid: '-', trimMillis: true });

/** `turnstream sessions list|show <id>`: totals, turns and state as the pipeline committed them. */
export async function sessions(args: string[], flags: Record<string, string | boolean | undefined>): Promise<number> {
  const [sub = 'list', id, ...extra] = args;
  if ((sub === 'list' && id !== undefined) || extra.length > 0) throw new TurnstreamError(`too many arguments: ${args.join(' ')}; use 'sessions list' or 'sessions show <id>'`);
  const config = resolveConfig(flags);
  const backend = await openBackend(config, { mode: 'read', purpose: 'report' });
  try {
    if (sub === 'list') {
      const limit = typeof flags['limit'] === 'string' ? parsePositiveInt(flags['limit']) : 100;
      const rows = await backend.readers.state.sessions({ limit });
      if (flags['json']) {
        out.json(rows);
        return 0;
      }
      if (rows.length === 0) {
        out.line('no sessions yet: send events with `turnstream send FILE`');
        return 0;
      }
      out.line(table(
        ['SESSION', 'TURNS', 'LLM CALLS', 'TOOL CALLS', 'INPUT', 'OUTPUT', 'CACHE READ', 'CACHE WRITE', 'COST', 'LAST EVENT'],
        rows.map(({ session, totals: t }) => [session, t.turns, t.llmCalls, t.toolCalls, t.inputTokens, t.outputTokens, t.cacheReadTokens, t.cacheWriteTokens, usd(t.cost), iso(t.lastMs)]),
      ));
      return 0;
    }
    if (sub !== 'show') throw new TurnstreamError(`unknown sessions command "${sub}"; use 'sessions list' or 'sessions show <id>'`);
    if (id === undefined) throw new TurnstreamError('sessions show needs a session id: turnstream sessions show <id> (see turnstream sessions list)');
    const totals = await backend.readers.state.totals(id);
    const state = await backend.readers.state.list(id);
    if (totals === undefined && Object.keys(state).length === 0) {
      throw new TurnstreamError(`no session "${id}" in ${backend.where} (no closed turn and no state yet); 'turnstream sessions list' shows what there is`);
    }
    const turns = await backend.readers.state.turns(id);
    const report = sessionReport(id, totals ?? { turns: 0, llmCalls: 0, toolCalls: 0, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0, cost: 0, errors: 0, firstMs: NaN, lastMs: NaN }, turns, state);
    if (flags['json']) {
      out.json(report);
      return 0;
    }
    const t = report.totals;
    out.line(`session ${id}`);
    out.line(`  ${t.turns} turns, ${t.llmCalls} LLM calls, ${t.toolCalls} tool calls (${t.errors} failed), cost ${usd(t.cost)}`);
    out.line(`  tokens: input ${int(t.inputTokens)} (excl. cache), output ${int(t.outputTokens)}, cache read ${int(t.cacheReadTokens)}, cache write ${int(t.cacheWriteTokens)}`);
    out.line('');
    out.line(table(
      ['TURN', 'START', 'STATUS', 'STOP', 'DURATION', 'LLM', 'TOOLS', 'INPUT', 'OUTPUT', 'COST', 'TOOL CALLS'],
      report.turns.map((x) => [x.turn, x.start, x.status + (x.revision > 0 ? ` (rev ${x.revision})` : ''), x.stopReason ?? '-', Number.isFinite(x.durationMs) ? `${(x.durationMs / 1000).toFixed(1)} s` : 'invalid', x.llmCallCount, x.toolCallCount, x.inputTokens, x.outputTokens, usd(x.cost), x.toolNames.join(' → ') || '-']),
    ));
    out.line('');
    out.line(Object.keys(state).length === 0 ? 'state: (empty)' : 'state:');
    for (const [k, v] of Object.entries(state)) out.line(`  ${k} = ${JSON.stringify(v)}`);
    return 0;
  } finally {
    await backend.close();
  }
}
