import type { JsonValue } from '../events/step-event.ts';
import type { SessionTotals } from '../streams/session-totals.ts';
import type { TurnRecord } from '../streams/turn-aggregate.ts';

/** The machine-readable shape of one session (`sessions show --json`; replay uses it too). */
export interface SessionReport {
  readonly session: string;
  readonly totals: {
    turns: number;
    llmCalls: number;
    toolCalls: number;
    inputTokens: number;
    outputTokens: number;
    cacheReadTokens: number;
    cacheWriteTokens: number;
    reasoningTokens: number;
    cost: number;
    errors: number;
  };
  readonly turns: readonly (Omit<TurnRecord, 'startMs' | 'endMs' | 'closedAtPos'> & { start: string; end: string })[];
  readonly state: Record<string, JsonValue>;
}

/** A stored time that is not a valid one (an old store's `null`) must not fail the whole report. */
const iso = (ms: number): string => {
  const d = new Date(ms);
  return typeof ms === 'number' && Number.isFinite(d.getTime()) ? d.toISOString() : 'invalid';
};

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
      ...t,
      start: iso(startMs),
      end: iso(endMs),
    })),
    state,
  };
}
