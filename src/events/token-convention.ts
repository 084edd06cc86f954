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

/**
 * The event's `inputTokens` from an OTel-convention input count (`gen_ai.usage.input_tokens`,
 * which includes cache reads and writes): the cache tokens are taken out. A producer whose input
 * count is smaller than its cache tokens evidently reported them apart already (some
 * instrumentations follow the Anthropic convention); its count is kept as is, never made negative.
 */
export function eventInputTokens(otelInput: number, cacheReadTokens: number, cacheWriteTokens: number): number {
  const cached = cacheReadTokens + cacheWriteTokens;
  return otelInput >= cached ? otelInput - cached : otelInput;
}
