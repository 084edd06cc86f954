import { int, table, usd } from '../report/format.ts';
import type { ReplayReport, ReplayTurnReport } from './replay-report.ts';

const ms = (iso: string): number => Date.parse(iso);
const secs = (n: number): string => `${(n / 1000).toFixed(1)} s`;
const offset = (n: number): string => `${n < 0 ? '-' : '+'}${(Math.abs(n) / 1000).toFixed(1)} s`;
const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;
const signed = (n: number): string => `${n < 0 ? '-' : '+'}${usd(Math.abs(n))}`;
const pct = (from: number, to: number): string => (from === 0 ? '' : ` (${to >= from ? '+' : ''}${(((to - from) / from) * 100).toFixed(1)} %)`);

/** One row per call, LLM and tool calls merged in start order (an LLM call first on a tie). */
function callRows(t: ReplayTurnReport): (string | number)[][] {
  const start = ms(t.start);
  const rows: { at: number; order: number; row: (string | number)[] }[] = [];
  for (const c of t.llm) {
    const tokens = [`in ${int(c.inputTokens)}`, `out ${int(c.outputTokens)}`];
    if (c.cacheReadTokens > 0) tokens.push(`cache read ${int(c.cacheReadTokens)}`);
    if (c.cacheWriteTokens > 0) tokens.push(`cache write ${int(c.cacheWriteTokens)}`);
    if (c.reasoningTokens > 0) tokens.push(`reasoning ${int(c.reasoningTokens)}`);
    const source = c.costSource === 'computed' ? '' : ` (${c.costSource})`;
    rows.push({
      at: ms(c.start),
      order: 0,
      row: [offset(ms(c.start) - start), 'chat', c.model, secs(ms(c.end) - ms(c.start)), tokens.join('  '), `${usd(c.cost)}${source}`, c.finishReason ?? ''],
    });
  }
  for (const c of t.tools) {
    const duration = c.end === undefined ? 'not ended' : secs(ms(c.end) - ms(c.start));
    rows.push({
      at: ms(c.start),
      order: 1,
      row: [offset(ms(c.start) - start), 'tool', c.toolName, duration, c.error === undefined ? '' : `error: ${c.error}`, '', ''],
    });
  }
  rows.sort((a, b) => a.at - b.at || a.order - b.order);
  return rows.map((r) => r.row);
}

function turnHeader(t: ReplayTurnReport, r: ReplayReport): string {
  const status = `${t.status}${t.stopReason === undefined ? '' : ` (${t.stopReason})`}${t.revision > 0 ? `, revision ${t.revision}` : ''}`;
  const tools = t.toolCallCount === 0 ? '' : ` · ${plural(t.toolCallCount, 'tool call')}${t.errors > 0 ? ` (${t.errors} failed)` : ''}`;
  const change = r.replay.repricing?.turns.find((c) => c.turn === t.turn);
  const cost =
    change === undefined ? usd(t.cost) : change.oldCost === undefined ? `${usd(t.cost)} (not recorded before)` : `${usd(change.oldCost)} → ${usd(t.cost)}`;
  return `${t.turn}  ${t.start}  ${secs(t.durationMs)}  ${status}  ${plural(t.llmCallCount, 'LLM call')}${tools} · ${cost}`;
}

/** The totals, state and replay notes of a report: the end of a timeline, and of a `--speed` feed. */
export function renderSummary(r: ReplayReport): string {
  const t = r.totals;
  const lines: string[] = [];
  lines.push(
    `totals  ${plural(t.turns, 'turn')} · ${plural(t.llmCalls, 'LLM call')} · ${plural(t.toolCalls, 'tool call')} (${t.errors} failed) · ${usd(t.cost)}`,
  );
  lines.push(
    `  tokens  input ${int(t.inputTokens)} (excl. cache) · output ${int(t.outputTokens)} · cache read ${int(t.cacheReadTokens)} · cache write ${int(t.cacheWriteTokens)} · reasoning ${int(t.reasoningTokens)}`,
  );
  const p = r.replay.repricing;
  if (p !== undefined) {
    lines.push('');
    lines.push(
      `re-priced with ${p.prices}: ${usd(p.oldCost)} → ${usd(p.newCost)}  ${signed(p.newCost - p.oldCost)}${pct(p.oldCost, p.newCost)}  over ${plural(p.matched, 'recorded turn')}`,
    );
    for (const m of p.models) lines.push(`  ${m.provider}/${m.model}  ${plural(m.calls, 'call')}  ${usd(m.oldCost)} → ${usd(m.newCost)}`);
    if (p.unmatched > 0)
      lines.push(`  ${plural(p.unmatched, 'turn')} not recorded at this revision by the live pipeline: ${usd(p.unmatchedNewCost)} re-priced`);
  }
  const open = r.replay.open;
  if (open.length > 0) {
    lines.push('');
    lines.push(`open at this point (no aggregate yet): ${open.map((o) => `${o.turn} (since ${o.start}, ${plural(o.events, 'event')})`).join(', ')}`);
  }
  lines.push('');
  const deleted = Object.entries(r.replay.deleted);
  lines.push(Object.keys(r.state).length === 0 && deleted.length === 0 ? 'state: (empty)' : 'state:');
  for (const [k, v] of Object.entries(r.state)) lines.push(`  ${k} = ${JSON.stringify(v)}`);
  for (const [k, at] of deleted) lines.push(`  ${k} (deleted ${at})`);
  const letters = r.replay.deadLetters;
  if (letters.length > 0) {
    lines.push('');
    lines.push(`turned away by the turn windows: ${letters.map((l) => `${l.reason}${l.eventId === undefined ? '' : ` ${l.eventId}`}`).join(', ')}`);
  }
  return lines.join('\n');
}

/**
 * The terminal timeline of a replayed session: a header, then each closed turn (start, duration,
 * status, its LLM and tool calls in start order with tokens by type, cost, duration and errors),
 * then totals, state and what the replay noticed (open turns at an `--at` point, dead letters,
 * re-pricing). Token names follow the event schema: input EXCLUDES cache tokens.
 */
export function renderTimeline(r: ReplayReport): string {
  const first = r.turns[0];
  const who = [first?.agent === undefined ? '' : `agent ${first.agent}`, first?.user === undefined ? '' : `user ${first.user}`].filter((s) => s !== '');
  const at = r.replay.at === undefined ? '' : 'time' in r.replay.at ? ` · as of ${r.replay.at.time}` : ` · as of event ${r.replay.at.event}`;
  const lines = [`session ${r.session}${who.length === 0 ? '' : ` · ${who.join(' · ')}`}${at}`];
  lines.push(
    `replayed ${plural(r.replay.events, 'event')} of the session (${plural(r.replay.logEvents, 'event')} read from the log, through position ${r.replay.position})`,
  );
  for (const t of r.turns) {
    lines.push('');
    lines.push(turnHeader(t, r));
    const rows = callRows(t);
    if (rows.length > 0)
      lines.push(
        table(['', '', '', '', '', '', ''], rows)
          .split('\n')
          .slice(1)
          .map((l) => `  ${l}`)
          .join('\n'),
      );
  }
  if (r.turns.length === 0) lines.push('', 'no turn closed');
  lines.push('');
  lines.push(renderSummary(r));
  return lines.join('\n');
}
