import type { JsonValue } from '../model/json-value.ts';
import type { SessionTotals } from '../model/session-totals.ts';
import { toStoredTurn, type StoredTurn, type TurnRecord } from '../model/turn-record.ts';
import { isoTime } from './format.ts';

/**
 * One turn in a report: the stored turn record with ISO times. Its counts keep the JSON names
 * `sessions show --json` has always printed (`llmCallCount`, `toolCallCount`; see `turn-record.ts`).
 */
export type TurnReport = StoredTurn<Omit<TurnRecord, 'startMs' | 'endMs' | 'closedAtPos'>> & { readonly start: string; readonly end: string };

/** The machine-readable shape of one session (`sessions show --json`; replay uses it too). */
export interface SessionReport {
  readonly session: string;
  /** The session's totals without its time span (the turns carry their times). */
  readonly totals: Omit<SessionTotals, 'firstMs' | 'lastMs'>;
  readonly turns: readonly TurnReport[];
  readonly state: Record<string, JsonValue>;
}

/**
 * Builds the report. Token names follow the event schema: `inputTokens` EXCLUDES cache tokens.
 * Turns keep the stored aggregate (tool names in call order, per-model breakdown), with ISO times;
 * each call's detail is in the log (`turnstream replay`).
 */
export function sessionReport(session: string, totals: SessionTotals, turns: readonly TurnRecord[], state: Record<string, JsonValue>): SessionReport {
  return {
    session,
    totals: {
      turns: totals.turns,
      llmCalls: totals.llmCalls,
      toolCalls: totals.toolCalls,
      inputTokens: totals.inputTokens,
      outputTokens: totals.outputTokens,
      cacheReadTokens: totals.cacheReadTokens,
      cacheWriteTokens: totals.cacheWriteTokens,
      reasoningTokens: totals.reasoningTokens,
      cost: totals.cost,
      errors: totals.errors,
    },
    turns: turns.map(({ startMs, endMs, closedAtPos: _p, ...t }) => ({
      ...toStoredTurn(t),
      start: isoTime(startMs),
      end: isoTime(endMs),
    })),
    state,
  };
}
