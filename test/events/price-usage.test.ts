import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPriceTable } from '../../src/events/price-table.ts';
import { priceUsage } from '../../src/events/price-usage.ts';
import type { LlmUsageEvent } from '../../src/events/step-event.ts';

// Bundled defaults, USD per million tokens (input / output / cacheRead / cacheWrite5m / cacheWrite1h):
//   claude-sonnet-4-5  3 / 15 / 0.3 / 3.75 / 6
//   claude-opus-4-1   15 / 75 / 1.5 / 18.75 / 30
//   claude-haiku-4-5   1 /  5 / 0.1 / 1.25 / 2
//   gpt-5           1.25 / 10 / 0.125 / 1.25 / 1.25
const table = createPriceTable();

const base: LlmUsageEvent = {
  v: 1,
  id: 'e1',
  type: 'llm.usage',
  session: 's1',
  turn: 't1',
  time: '2026-11-25T10:00:00Z',
  timeMs: Date.parse('2026-11-25T10:00:00Z'),
  provider: 'anthropic',
  model: 'claude-sonnet-4-5',
  inputTokens: 0,
  outputTokens: 0,
};

/** Float sums are kept unrounded; compare to within a billionth of a cent. */
function assertUsd(actual: number, expected: number): void {
  assert.ok(Math.abs(actual - expected) < 1e-11, `expected ${expected} USD, got ${actual}`);
}

describe('priceUsage from the price table', () => {
  it('prices cache tokens once, at cache rates, never also at the input rate', () => {
    const event: LlmUsageEvent = {
      ...base,
      inputTokens: 1_000,
      outputTokens: 500,
      cacheReadTokens: 100_000,
      cacheWriteTokens: 10_000,
    };
    // input       1_000 × 3    / 1e6 = 0.003
    // output        500 × 15   / 1e6 = 0.0075
    // cache read 100_000 × 0.3 / 1e6 = 0.03
    // cache write 10_000 × 3.75/ 1e6 = 0.0375   (no split: all at the 5m rate)
    // total                          = 0.078
    // The trap: also pricing the 110_000 cache tokens as input adds 110_000 × 3 / 1e6 = 0.33 → 0.408.
    const priced = priceUsage(event, table);
    assert.equal(priced.source, 'computed');
    assertUsd(priced.cost, 0.078);
    assert.ok(Math.abs(priced.cost - 0.408) > 0.1);
  });

  it('prices the 5m/1h split at their rates and the unsplit remainder at the 5m rate', () => {
    const event: LlmUsageEvent = {
      ...base,
      model: 'claude-opus-4-1',
      inputTokens: 100,
      cacheWriteTokens: 10_000,
      cacheWrite5mTokens: 2_000,
      cacheWrite1hTokens: 3_000,
    };
    // remainder = 10_000 − 2_000 − 3_000 = 5_000, priced at the 5m rate
    // input      100 × 15    / 1e6 = 0.0015
    // 5m   (2_000 + 5_000) × 18.75 / 1e6 = 0.13125
    // 1h          3_000 × 30    / 1e6 = 0.09
    // total                          = 0.22275
    assertUsd(priceUsage(event, table).cost, 0.22275);
  });

  it('prices a split given without cacheWriteTokens', () => {
    const event: LlmUsageEvent = {
      ...base,
      model: 'claude-haiku-4-5',
      cacheWrite5mTokens: 1_000_000,
      cacheWrite1hTokens: 1_000_000,
    };
    // 1e6 × 1.25 / 1e6 + 1e6 × 2 / 1e6 = 1.25 + 2 = 3.25
    assertUsd(priceUsage(event, table).cost, 3.25);
  });

  it('prices all cacheWriteTokens at the 5m rate when there is no split', () => {
    const event: LlmUsageEvent = { ...base, model: 'claude-haiku-4-5', cacheWriteTokens: 1_000_000 };
    // 1e6 × 1.25 / 1e6 = 1.25 (not the 1h rate, 2)
    assertUsd(priceUsage(event, table).cost, 1.25);
  });

  it('does not price reasoning tokens again: they are part of outputTokens', () => {
    const event: LlmUsageEvent = {
      ...base,
      provider: 'openai',
      model: 'gpt-5',
      inputTokens: 2_000,
      outputTokens: 1_000,
      reasoningTokens: 800,
      cacheReadTokens: 8_000,
    };
    // input  2_000 × 1.25  / 1e6 = 0.0025
    // output 1_000 × 10    / 1e6 = 0.01      (the 800 reasoning tokens are inside these 1_000)
    // cache  8_000 × 0.125 / 1e6 = 0.001
    // total                     = 0.0135   (pricing reasoning again would give 0.0215)
    assertUsd(priceUsage(event, table).cost, 0.0135);
  });

  it('prices a date-suffixed model id and a differently-cased provider', () => {
    const event: LlmUsageEvent = {
      ...base,
      provider: 'Anthropic',
      model: 'claude-opus-4-1-20250805',
      inputTokens: 1_000_000,
      outputTokens: 1_000_000,
    };
    // 1e6 × 15 / 1e6 + 1e6 × 75 / 1e6 = 15 + 75 = 90
    assert.deepEqual(priceUsage(event, table), { cost: 90, source: 'computed' });
  });

  it('computes with auth api-key', () => {
    const event: LlmUsageEvent = { ...base, auth: 'api-key', inputTokens: 1_000_000 };
    // 1e6 × 3 / 1e6 = 3
    assert.deepEqual(priceUsage(event, table), { cost: 3, source: 'computed' });
  });

  it('returns unpriced, never throws, for an unknown model or provider', () => {
    const unknownModel: LlmUsageEvent = { ...base, model: 'claude-unreleased-9', inputTokens: 5_000 };
    const unknownProvider: LlmUsageEvent = { ...base, provider: 'acme', model: 'acme-1', inputTokens: 5_000 };
    assert.deepEqual(priceUsage(unknownModel, table), { cost: 0, source: 'unpriced' });
    assert.deepEqual(priceUsage(unknownProvider, table), { cost: 0, source: 'unpriced' });
  });

  it('uses a caller-supplied table', () => {
    const custom = createPriceTable({
      includeDefaults: false,
      overrides: { acme: { 'acme-1': { input: 2, output: 4, cacheRead: 1, cacheWrite5m: 3, cacheWrite1h: 5 } } },
    });
    const event: LlmUsageEvent = { ...base, provider: 'acme', model: 'acme-1', inputTokens: 500_000, outputTokens: 250_000 };
    // 500_000 × 2 / 1e6 + 250_000 × 4 / 1e6 = 1 + 1 = 2
    assertUsd(priceUsage(event, custom).cost, 2);
    assert.equal(priceUsage({ ...base, inputTokens: 1 }, custom).source, 'unpriced');
  });
});

describe('priceUsage: subscription and reported costs', () => {
  const busy: LlmUsageEvent = { ...base, inputTokens: 1_000_000, outputTokens: 1_000_000, cacheReadTokens: 1_000_000 };

  it('costs 0 for oauth auth, subscription auth and costSource subscription', () => {
    const expected = { cost: 0, source: 'subscription' };
    assert.deepEqual(priceUsage({ ...busy, auth: 'oauth' }, table), expected);
    assert.deepEqual(priceUsage({ ...busy, auth: 'subscription' }, table), expected);
    assert.deepEqual(priceUsage({ ...busy, costSource: 'subscription' }, table), expected);
    // Subscription wins even over a reported cost.
    assert.deepEqual(priceUsage({ ...busy, auth: 'oauth', cost: 1.23 }, table), expected);
    assert.deepEqual(priceUsage({ ...busy, costSource: 'subscription', cost: 1.23 }, table), expected);
  });

  it('uses the provider-reported cost over the table', () => {
    // The table would say 1e6 × (3 + 15 + 0.3) / 1e6 = 18.3; the event says 0.42.
    assert.deepEqual(priceUsage({ ...busy, cost: 0.42 }, table), { cost: 0.42, source: 'provider' });
    assert.deepEqual(priceUsage({ ...busy, cost: 0.42, costSource: 'provider' }, table), { cost: 0.42, source: 'provider' });
    assert.deepEqual(priceUsage({ ...busy, cost: 0 }, table), { cost: 0, source: 'provider' });
  });

  it('keeps a producer-computed cost and labels it computed', () => {
    assert.deepEqual(priceUsage({ ...busy, cost: 0.5, costSource: 'computed' }, table), { cost: 0.5, source: 'computed' });
  });

  it('uses a reported cost even for a model the table does not know', () => {
    const event: LlmUsageEvent = { ...busy, provider: 'acme', model: 'acme-1', cost: 0.07 };
    assert.deepEqual(priceUsage(event, table), { cost: 0.07, source: 'provider' });
  });
});
