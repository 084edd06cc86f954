import { addUsage } from './token-usage.ts';
import { ZERO_TOTALS, turnTotals, type TurnAggregate, type TurnTotals } from './turn-aggregate.ts';

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
    ...addUsage(base, d),
    turns: base.turns + d.turns,
    llmCalls: base.llmCalls + d.llmCalls,
    toolCalls: base.toolCalls + d.toolCalls,
    errors: base.errors + d.errors,
    firstMs: Math.min(base.firstMs, d.firstMs),
    lastMs: Math.max(base.lastMs, d.lastMs),
  };
}

/**
 * The delta rule: the change an aggregate makes to its session's totals. A first close adds the
 * turn; a revision adds only what changed since the revision it supersedes, so totals stay exact
 * however many times a turn is revised.
 */
export function turnDelta(a: TurnAggregate): SessionDelta {
  const now = turnTotals(a);
  const before = a.supersedes === undefined ? ZERO_TOTALS : turnTotals(a.supersedes);
  return {
    session: a.session,
    turns: a.revision === 0 ? 1 : 0,
    llmCalls: now.llmCalls - before.llmCalls,
    toolCalls: now.toolCalls - before.toolCalls,
    inputTokens: now.inputTokens - before.inputTokens,
    outputTokens: now.outputTokens - before.outputTokens,
    cacheReadTokens: now.cacheReadTokens - before.cacheReadTokens,
    cacheWriteTokens: now.cacheWriteTokens - before.cacheWriteTokens,
    reasoningTokens: now.reasoningTokens - before.reasoningTokens,
    cost: now.cost - before.cost,
    errors: now.errors - before.errors,
    firstMs: a.startMs,
    lastMs: a.endMs,
  };
}

/**
 * Sums a batch's deltas onto the totals each session has (`base`, or empty for a new session):
 * the new totals of every session the batch touched. The one place adapters apply deltas.
 */
export function applyDeltas(deltas: readonly SessionDelta[], base: (session: string) => SessionTotals | undefined): Map<string, SessionTotals> {
  const merged = new Map<string, SessionTotals>();
  for (const { session, ...d } of deltas) merged.set(session, addDelta(merged.get(session) ?? base(session) ?? EMPTY_SESSION_TOTALS, d));
  return merged;
}
