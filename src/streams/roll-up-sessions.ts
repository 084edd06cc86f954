import { map, type OperatorFunction } from 'rxjs';
import { ZERO_TOTALS, turnTotals, type TurnAggregate } from './turn-aggregate.ts';
import type { SessionDelta } from './session-totals.ts';

/**
 * Session roll-ups as differences: each turn aggregate becomes the change it makes to its session's
 * totals. A first close adds the turn; a revision adds only what changed since the revision it
 * supersedes, so totals stay exact however many times a turn is revised. Holding no per-session
 * state keeps memory flat however many sessions pass; the store sums the deltas durably.
 * Emits one delta per aggregate, completes and errors with its source.
 */
export function rollUpSessions(): OperatorFunction<TurnAggregate, SessionDelta> {
  return map((a) => {
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
  });
}
