import { ZERO_TOTALS, type TurnTotals } from './turn-aggregate.ts';

/** Cumulative totals of one session: what `sessions show` prints and budget rules read. */
export interface SessionTotals extends TurnTotals {
  readonly turns: number;
  readonly firstMs: number;
  readonly lastMs: number;
}

export const EMPTY_SESSION_TOTALS: SessionTotals = {
  ...ZERO_TOTALS,
  turns: 0,
  firstMs: Number.POSITIVE_INFINITY,
  lastMs: Number.NEGATIVE_INFINITY,
};

/** A change to one session's totals, as emitted by `rollUpSessions`. Fields are differences. */
export interface SessionDelta extends TurnTotals {
  readonly session: string;
  readonly turns: number;
  readonly firstMs: number;
  readonly lastMs: number;
}

/** Applies a delta. Sums for counters; min/max for the time span. Pure. */
export function addDelta(base: SessionTotals, d: Omit<SessionDelta, 'session'>): SessionTotals {
  return {
    turns: base.turns + d.turns,
    llmCalls: base.llmCalls + d.llmCalls,
    toolCalls: base.toolCalls + d.toolCalls,
    inputTokens: base.inputTokens + d.inputTokens,
    outputTokens: base.outputTokens + d.outputTokens,
    cacheReadTokens: base.cacheReadTokens + d.cacheReadTokens,
    cacheWriteTokens: base.cacheWriteTokens + d.cacheWriteTokens,
    reasoningTokens: base.reasoningTokens + d.reasoningTokens,
    cost: base.cost + d.cost,
    errors: base.errors + d.errors,
    firstMs: Math.min(base.firstMs, d.firstMs),
    lastMs: Math.max(base.lastMs, d.lastMs),
  };
}
