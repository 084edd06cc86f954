import { addUsage, ZERO_USAGE, type TokenUsage } from './token-usage.ts';
import type { LlmCallSummary, ModelBreakdown } from './turn-aggregate.ts';

/** A turn's token usage from its LLM calls, and the same per (provider, model), in first-call order. */
export function sumCalls(calls: readonly LlmCallSummary[]): { usage: TokenUsage; models: ModelBreakdown[] } {
  let usage = ZERO_USAGE;
  const models = new Map<string, ModelBreakdown>();
  for (const c of calls) {
    // A call is a TokenUsage: addUsage reads only its six fields.
    usage = addUsage(usage, c);
    const mk = `${c.provider}\u0000${c.model}`;
    const m = models.get(mk) ?? { provider: c.provider, model: c.model, calls: 0, ...ZERO_USAGE };
    models.set(mk, { provider: m.provider, model: m.model, calls: m.calls + 1, ...addUsage(m, c) });
  }
  return { usage, models: [...models.values()] };
}
