import type { LlmUsageEvent } from './step-event.ts';
import type { PriceTable } from './price-table.ts';

/**
 * Where a cost came from: reported by the `provider`, `computed` (by us from the price table, or
 * by the producer, which says so with `costSource: 'computed'`), zero because the call was billed
 * by a `subscription`, or `unpriced` (no cost on the event and no price for its model).
 */
export type PricedCostSource = 'provider' | 'computed' | 'subscription' | 'unpriced';

export interface PricedCost {
  /** USD, unrounded; the caller rounds for display. */
  readonly cost: number;
  readonly source: PricedCostSource;
}

/**
 * The USD cost of one LLM call. Rules, first match wins:
 * 1. `auth` is `oauth` or `subscription`, or `costSource` is `subscription` → `{ 0, subscription }`:
 *    the provider does not bill per call (the tokens still count, elsewhere).
 * 2. `cost` is a number → that cost, source `computed` if `costSource` says so, else `provider`.
 * 3. The table prices the model → source `computed`, cost =
 *      inputTokens × input            (inputTokens EXCLUDES cache tokens: Anthropic convention,
 *                                      so cache tokens are priced once, at cache rates only)
 *    + outputTokens × output          (reasoningTokens are a SUBSET of outputTokens: OpenAI
 *                                      convention, so they are not priced again)
 *    + cacheReadTokens × cacheRead
 *    + cacheWrite5mTokens × cacheWrite5m + cacheWrite1hTokens × cacheWrite1h
 *    + (cacheWriteTokens − 5m − 1h, if positive) × cacheWrite5m
 *      (without a split, all of cacheWriteTokens goes at the 5m rate, Anthropic's default TTL;
 *      a split larger than cacheWriteTokens is trusted as is).
 * 4. Otherwise → `{ 0, unpriced }`. Never throws.
 */
export function priceUsage(event: LlmUsageEvent, table: PriceTable): PricedCost {
  if (event.auth === 'oauth' || event.auth === 'subscription' || event.costSource === 'subscription') {
    return { cost: 0, source: 'subscription' };
  }
  if (typeof event.cost === 'number') {
    return { cost: event.cost, source: event.costSource === 'computed' ? 'computed' : 'provider' };
  }
  const price = table.lookup(event.provider, event.model);
  if (price === undefined) return { cost: 0, source: 'unpriced' };

  const write5m = event.cacheWrite5mTokens ?? 0;
  const write1h = event.cacheWrite1hTokens ?? 0;
  const writeUnsplit = Math.max(0, (event.cacheWriteTokens ?? 0) - write5m - write1h);
  const cost =
    event.inputTokens * price.input +
    event.outputTokens * price.output +
    (event.cacheReadTokens ?? 0) * price.cacheRead +
    (write5m + writeUnsplit) * price.cacheWrite5m +
    write1h * price.cacheWrite1h;
  return { cost, source: 'computed' };
}
