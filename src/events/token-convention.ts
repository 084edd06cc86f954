/**
 * The token convention, in one place.
 *
 * Events follow the Anthropic convention: `inputTokens` EXCLUDES cache reads and cache writes.
 * OpenTelemetry's `gen_ai.usage.input_tokens` INCLUDES them (cache attributes are a breakdown of
 * it). Converting in exactly one function is what keeps cost and token totals from double-counting
 * cache tokens — the most common bug in this field. Pricing uses the event convention: each token
 * is priced once, at its own rate.
 */
export interface TokenCounts {
  readonly inputTokens: number;
  readonly cacheReadTokens: number;
  readonly cacheWriteTokens: number;
}

/** `gen_ai.usage.input_tokens`: all prompt tokens, cached or not. */
export function otelInputTokens(t: TokenCounts): number {
  return t.inputTokens + t.cacheReadTokens + t.cacheWriteTokens;
}
