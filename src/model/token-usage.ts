/**
 * Tokens and cost of one or more LLM calls: the one field list every aggregate, breakdown, total
 * and delta carries. Names follow the event schema: `inputTokens` EXCLUDES cache tokens (the
 * Anthropic convention); `reasoningTokens` are a subset of `outputTokens`; `cost` is USD, unrounded.
 */
export interface TokenUsage {
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cacheReadTokens: number;
  readonly cacheWriteTokens: number;
  readonly reasoningTokens: number;
  readonly cost: number;
}

/** The fields of `TokenUsage`, for code that sums or subtracts them all. */
export const TOKEN_USAGE_FIELDS = [
  'inputTokens',
  'outputTokens',
  'cacheReadTokens',
  'cacheWriteTokens',
  'reasoningTokens',
  'cost',
] as const satisfies readonly (keyof TokenUsage)[];

export const ZERO_USAGE: TokenUsage = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0, cost: 0 };

/**
 * `into += b` field by field, in place: the same additions in the same order as `addUsage`, for
 * sums over many calls without a new object per call.
 */
export function addUsageInto(into: { -readonly [K in keyof TokenUsage]: number }, b: TokenUsage): void {
  into.inputTokens += b.inputTokens;
  into.outputTokens += b.outputTokens;
  into.cacheReadTokens += b.cacheReadTokens;
  into.cacheWriteTokens += b.cacheWriteTokens;
  into.reasoningTokens += b.reasoningTokens;
  into.cost += b.cost;
}

/** `a + b` field by field. Pure. */
export function addUsage(a: TokenUsage, b: TokenUsage): TokenUsage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cacheReadTokens: a.cacheReadTokens + b.cacheReadTokens,
    cacheWriteTokens: a.cacheWriteTokens + b.cacheWriteTokens,
    reasoningTokens: a.reasoningTokens + b.reasoningTokens,
    cost: a.cost + b.cost,
  };
}
