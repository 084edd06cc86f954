import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { otelInputTokens } from '../../src/events/token-convention.ts';
import { createPriceTable } from '../../src/events/price-table.ts';
import { priceUsage } from '../../src/events/price-usage.ts';
import type { LlmUsageEvent } from '../../src/events/step-event.ts';

/** Float sums are kept unrounded; compare to within a billionth of a cent. */
function assertUsd(actual: number, expected: number): void {
  assert.ok(Math.abs(actual - expected) < 1e-11, `expected ${expected} USD, got ${actual}`);
}

describe('otelInputTokens', () => {
  it('adds cache reads and cache writes to the uncached input, each exactly once', () => {
    assert.equal(otelInputTokens({ inputTokens: 100, cacheReadTokens: 2_000, cacheWriteTokens: 300 }), 2_400);
  });

  it('counts each part on its own (no part is dropped or doubled)', () => {
    assert.equal(otelInputTokens({ inputTokens: 7, cacheReadTokens: 0, cacheWriteTokens: 0 }), 7);
    assert.equal(otelInputTokens({ inputTokens: 0, cacheReadTokens: 11, cacheWriteTokens: 0 }), 11);
    assert.equal(otelInputTokens({ inputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 13 }), 13);
    assert.equal(otelInputTokens({ inputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 }), 0);
  });

  it('is never smaller than the uncached input (the event convention excludes cache tokens)', () => {
    const t = { inputTokens: 1_000, cacheReadTokens: 50_000, cacheWriteTokens: 4_000 };
    assert.equal(otelInputTokens(t) - t.inputTokens, t.cacheReadTokens + t.cacheWriteTokens);
  });
});

describe('pricing with the two conventions: the double-count trap', () => {
  // A table of our own (USD per million tokens), so the arithmetic does not depend on the bundled
  // defaults: input 2, output 10, cacheRead 0.2, cacheWrite5m 2.5, cacheWrite1h 4.
  const table = createPriceTable({
    includeDefaults: false,
    overrides: { acme: { 'model-1': { input: 2, output: 10, cacheRead: 0.2, cacheWrite5m: 2.5, cacheWrite1h: 4 } } },
  });
  const event: LlmUsageEvent = {
    v: 1,
    id: 'e1',
    type: 'llm.usage',
    session: 's1',
    turn: 't1',
    time: '2026-03-02T12:00:00Z',
    timeMs: 1_772_452_800_000,
    provider: 'acme',
    model: 'model-1',
    inputTokens: 1_000,
    outputTokens: 200,
    cacheReadTokens: 50_000,
    cacheWriteTokens: 4_000,
  };
  const otel = otelInputTokens({ inputTokens: 1_000, cacheReadTokens: 50_000, cacheWriteTokens: 4_000 });

  it('the OTel input number includes the 54_000 cache tokens', () => {
    assert.equal(otel, 55_000); // 1_000 + 50_000 + 4_000
  });

  it('prices the event (Anthropic convention) once per token: 0.024 USD', () => {
    // input        1_000 × 2   = 2_000
    // output         200 × 10  = 2_000
    // cache read  50_000 × 0.2 = 10_000
    // cache write  4_000 × 2.5 = 10_000   (no split: all at the 5m rate)
    // total                    = 24_000 / 1e6 = 0.024 USD
    const priced = priceUsage(event, table);
    assert.equal(priced.source, 'computed');
    assertUsd(priced.cost, 0.024);
  });

  it('pricing the OTel input number at the input rate AND the cache at cache rates double-counts', () => {
    // Wrong: 55_000 × 2 = 110_000, + 2_000 output + 10_000 + 10_000 cache = 132_000 / 1e6 = 0.132 USD.
    // The excess is the 54_000 cache tokens priced again at the input rate: 54_000 × 2 / 1e6 = 0.108.
    const wrong = priceUsage({ ...event, inputTokens: otel }, table);
    assertUsd(wrong.cost, 0.132);
    const right = priceUsage(event, table);
    assertUsd(wrong.cost - right.cost, 0.108);
    assert.notEqual(Math.round(wrong.cost * 1e6), Math.round(right.cost * 1e6));
  });

  it('an OTel-side number converts back by subtracting the cache tokens, giving the right cost', () => {
    const back = otel - (event.cacheReadTokens ?? 0) - (event.cacheWriteTokens ?? 0);
    assert.equal(back, 1_000);
    assertUsd(priceUsage({ ...event, inputTokens: back }, table).cost, 0.024);
  });
});
