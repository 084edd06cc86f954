import { putEntry } from '../state/session-state-store.ts';
import { isoTime } from '../report/format.ts';
import { sessionReport, type SessionReport } from '../report/session-report.ts';
import type { RejectReason } from '../events/reject-reason.ts';
import { EMPTY_SESSION_TOTALS } from '../model/session-totals.ts';
import type { LlmCallSummary, ToolCallSummary } from '../model/turn-aggregate.ts';
import type { CostComparison } from './compare-costs.ts';
import type { ReplayStop } from './replay-log.ts';
import type { SessionReplay } from './replay-session.ts';

const iso = (ms: number): string => isoTime(ms);

export type LlmCallReport = Omit<LlmCallSummary, 'startMs' | 'endMs'> & { readonly start: string; readonly end: string };
export type ToolCallReport = Omit<ToolCallSummary, 'startMs' | 'endMs'> & { readonly start: string; readonly end?: string };
export type ReplayTurnReport = SessionReport['turns'][number] & { readonly llm: readonly LlmCallReport[]; readonly tools: readonly ToolCallReport[] };

/**
 * `turnstream replay --json`: the shape of `sessions show --json` (`session`, `totals`, `turns`,
 * `state`), each turn with its calls in order (`llm`, `tools`), plus what the replay itself saw
 * under `replay`. Times are ISO 8601 UTC strings; token names follow the event schema
 * (`inputTokens` EXCLUDES cache tokens).
 */
export interface ReplayReport extends Omit<SessionReport, 'turns'> {
  readonly turns: readonly ReplayTurnReport[];
  readonly replay: {
    /** Events of this session fed, and events read from the log in all (through `position`). */
    readonly events: number;
    readonly logEvents: number;
    readonly position: number;
    /** The `--at` point, when given. */
    readonly at?: { readonly time: string } | { readonly event: string };
    /** Turns that had events but had not closed at the point the replay stopped. */
    readonly open: readonly { readonly turn: string; readonly start: string; readonly last: string; readonly events: number }[];
    /** Keys whose latest write is a delete (tombstones), with that delete's event time. */
    readonly deleted: Readonly<Record<string, string>>;
    /** Events of this session the turn windows turned away. */
    readonly deadLetters: readonly { readonly reason: RejectReason; readonly eventId?: string; readonly message: string }[];
    /** With `--prices`: recorded (old) vs re-priced (new) cost. */
    readonly repricing?: CostComparison & { readonly prices: string };
  };
}

export interface ReplayReportOptions {
  readonly stop?: ReplayStop;
  readonly repricing?: CostComparison & { readonly prices: string };
}

/** Builds the report of a replayed session. Pure. */
export function replayReport(r: SessionReplay, o: ReplayReportOptions = {}): ReplayReport {
  const base = sessionReport(
    r.session,
    r.totals ?? { ...EMPTY_SESSION_TOTALS, firstMs: Number.NaN, lastMs: Number.NaN },
    r.turns.map(({ llm: _l, tools: _t, ...t }) => t),
    r.state,
  );
  const turns = base.turns.map((t, i): ReplayTurnReport => {
    const detail = r.turns[i]!;
    return {
      ...t,
      llm: detail.llm.map(({ startMs, endMs, ...c }) => ({ ...c, start: iso(startMs), end: iso(endMs) })),
      tools: detail.tools.map(({ startMs, endMs, ...c }) => ({ ...c, start: iso(startMs), ...(endMs === undefined ? {} : { end: iso(endMs) }) })),
    };
  });
  const deleted: Record<string, string> = {};
  for (const [k, ms] of Object.entries(r.deleted)) putEntry(deleted, k, iso(ms));
  return {
    ...base,
    turns,
    replay: {
      events: r.events,
      logEvents: r.fed,
      position: r.position,
      ...(o.stop === undefined ? {} : { at: o.stop.kind === 'time' ? { time: iso(o.stop.ms) } : { event: o.stop.id } }),
      open: r.open.map((t) => ({ turn: t.turn, start: iso(t.firstMs), last: iso(t.lastMs), events: t.events })),
      deleted,
      deadLetters: r.letters.map((l) => ({ reason: l.reason, ...(l.eventId === undefined ? {} : { eventId: l.eventId }), message: l.message })),
      ...(o.repricing === undefined ? {} : { repricing: o.repricing }),
    },
  };
}
