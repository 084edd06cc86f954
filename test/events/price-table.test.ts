import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPriceTable, loadPriceTable } from '../../src/events/price-table.ts';
import { ConfigError } from '../../src/errors.ts';

const M = 1_000_000;
const defaults = createPriceTable();

/** Per-million prices as in the JSON, converted the way the table does: price / 1e6 per token. */
function perToken(input: number, output: number, cacheRead: number, cacheWrite5m: number, cacheWrite1h: number) {
  return { input: input / M, output: output / M, cacheRead: cacheRead / M, cacheWrite5m: cacheWrite5m / M, cacheWrite1h: cacheWrite1h / M };
}

describe('default price table', () => {
  it('converts per-million prices to per-token prices', () => {
    // opus-4-1: 15 / 75 / 1.5 / 18.75 / 30 per million → 0.000015 per input token, …
    assert.deepEqual(defaults.lookup('anthropic', 'claude-opus-4-1'), perToken(15, 75, 1.5, 18.75, 30));
    assert.deepEqual(defaults.lookup('openai', 'gpt-4o'), perToken(2.5, 10, 1.25, 2.5, 2.5));
    assert.deepEqual(defaults.lookup('google', 'gemini-2.5-flash'), perToken(0.3, 2.5, 0.03, 0.3, 0.3));
  });

  it('follows the published multipliers: Anthropic cache read 0.1×, 5m write 1.25×, 1h write 2× input; others write at input', () => {
    const file = JSON.parse(readFileSync(new URL('../../src/events/default-prices.json', import.meta.url), 'utf8')) as Record<
      string,
      Record<string, { input: number; cacheRead: number; cacheWrite5m: number; cacheWrite1h: number }>
    >;
    const close = (a: number, b: number): boolean => Math.abs(a - b) < 1e-9;
    for (const [model, p] of Object.entries(file['anthropic'] ?? {})) {
      assert.ok(close(p.cacheRead, p.input * 0.1), `${model} cacheRead`);
      assert.ok(close(p.cacheWrite5m, p.input * 1.25), `${model} cacheWrite5m`);
      assert.ok(close(p.cacheWrite1h, p.input * 2), `${model} cacheWrite1h`);
    }
    for (const provider of ['openai', 'google']) {
      for (const [model, p] of Object.entries(file[provider] ?? {})) {
        assert.equal(p.cacheWrite5m, p.input, `${model} cacheWrite5m`);
        assert.equal(p.cacheWrite1h, p.input, `${model} cacheWrite1h`);
      }
    }
  });

  it('strips a trailing date suffix or -latest when the exact id is unknown', () => {
    const opus41 = defaults.lookup('anthropic', 'claude-opus-4-1');
    assert.ok(opus41);
    assert.deepEqual(defaults.lookup('anthropic', 'claude-opus-4-1-20250805'), opus41);
    assert.deepEqual(defaults.lookup('anthropic', 'claude-opus-4-1@20250805'), opus41); // Vertex style
    assert.deepEqual(defaults.lookup('anthropic', 'claude-3-7-sonnet-latest'), defaults.lookup('anthropic', 'claude-3-7-sonnet'));
    assert.deepEqual(defaults.lookup('openai', 'gpt-4o-2024-08-06'), defaults.lookup('openai', 'gpt-4o'));
    assert.deepEqual(defaults.lookup('openai', 'gpt-4o-mini-2024-07-18'), perToken(0.15, 0.6, 0.075, 0.15, 0.15));
  });

  it('prefers an exact id over the stripped one', () => {
    const table = createPriceTable({
      includeDefaults: false,
      overrides: {
        acme: {
          'acme-1': { input: 1, output: 1, cacheRead: 1, cacheWrite5m: 1, cacheWrite1h: 1 },
          'acme-1-20250101': { input: 2, output: 2, cacheRead: 2, cacheWrite5m: 2, cacheWrite1h: 2 },
        },
      },
    });
    assert.equal(table.lookup('acme', 'acme-1-20250101')?.input, 2 / M);
    assert.equal(table.lookup('acme', 'acme-1-20250202')?.input, 1 / M);
  });

  it('matches providers case-insensitively and through the documented aliases', () => {
    const gpt5 = defaults.lookup('openai', 'gpt-5');
    assert.ok(gpt5);
    assert.deepEqual(defaults.lookup('OpenAI', 'gpt-5'), gpt5);
    assert.deepEqual(defaults.lookup('Claude', 'claude-haiku-4-5'), defaults.lookup('anthropic', 'claude-haiku-4-5'));
    const pro = defaults.lookup('google', 'gemini-2.5-pro');
    assert.ok(pro);
    for (const alias of ['gemini', 'vertex_ai', 'vertex', 'Google']) assert.deepEqual(defaults.lookup(alias, 'gemini-2.5-pro'), pro);
  });

  it('returns undefined for unknown models and providers, without guessing by prefix', () => {
    assert.equal(defaults.lookup('openai', 'gpt-9'), undefined);
    assert.equal(defaults.lookup('openai', 'gpt-5-pro'), undefined); // not gpt-5
    assert.equal(defaults.lookup('anthropic', 'gpt-5'), undefined); // wrong provider
    assert.equal(defaults.lookup('acme', 'acme-1'), undefined);
  });

  it('can leave the defaults out', () => {
    assert.equal(createPriceTable({ includeDefaults: false }).lookup('openai', 'gpt-5'), undefined);
  });

  it('loadPriceTable without a file gives the defaults', () => {
    assert.deepEqual(loadPriceTable().lookup('anthropic', 'claude-sonnet-4-5'), perToken(3, 15, 0.3, 3.75, 6));
  });
});

describe('user price file', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'turnstream-prices-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function write(name: string, content: string): string {
    const file = join(dir, name);
    writeFileSync(file, content);
    return file;
  }
  const good = { input: 1, output: 2, cacheRead: 0.1, cacheWrite5m: 1, cacheWrite1h: 1 };

  it('overrides a default price and adds new models, keeping the other defaults', () => {
    const file = write(
      'prices.json',
      JSON.stringify({
        $comment: 'negotiated rates',
        openai: { 'gpt-4o': { ...good, input: 2 } },
        mistral: { 'mistral-large': { input: 2, output: 6, cacheRead: 0.2, cacheWrite5m: 2, cacheWrite1h: 2 } },
      }),
    );
    const table = loadPriceTable({ file });
    assert.deepEqual(table.lookup('openai', 'gpt-4o'), perToken(2, 2, 0.1, 1, 1));
    assert.deepEqual(table.lookup('openai', 'gpt-4o-2024-08-06'), perToken(2, 2, 0.1, 1, 1));
    assert.deepEqual(table.lookup('mistral', 'mistral-large'), perToken(2, 6, 0.2, 2, 2));
    assert.deepEqual(table.lookup('openai', 'gpt-4o-mini'), defaults.lookup('openai', 'gpt-4o-mini'));
    assert.deepEqual(table.lookup('anthropic', 'claude-opus-4-6'), perToken(5, 25, 0.5, 6.25, 10));
  });

  /** Asserts a ConfigError whose message contains every part. */
  function assertConfigError(run: () => unknown, ...parts: string[]): void {
    assert.throws(run, (err: unknown) => {
      assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
      assert.equal(err.retriable, false);
      for (const part of parts) assert.ok(err.message.includes(part), `"${err.message}" should mention ${part}`);
      return true;
    });
  }

  it('fails clearly when the file cannot be read', () => {
    const file = join(dir, 'missing.json');
    assertConfigError(() => loadPriceTable({ file }), file, 'cannot be read', 'ENOENT', 'fix the path');
    assert.throws(
      () => loadPriceTable({ file }),
      (err: unknown) => err instanceof ConfigError && err.cause instanceof Error,
    );
  });

  it('fails clearly on bad JSON', () => {
    const file = write('bad.json', '{ "openai": { "gpt-4o": { "input": 1, } }');
    assertConfigError(() => loadPriceTable({ file }), file, 'not valid JSON', 'fix the syntax');
  });

  it('fails clearly on a negative price', () => {
    const file = write('negative.json', JSON.stringify({ openai: { 'gpt-4o': { ...good, input: -1 } } }));
    assertConfigError(() => loadPriceTable({ file }), file, 'openai/gpt-4o', 'input = -1', 'number >= 0');
  });

  it('fails clearly on a non-number price', () => {
    const file = write('string.json', JSON.stringify({ openai: { 'gpt-4o': { ...good, output: '10' } } }));
    assertConfigError(() => loadPriceTable({ file }), file, 'openai/gpt-4o', 'output = "10"', 'number >= 0');
  });

  it('fails clearly on a missing field', () => {
    const { cacheWrite1h: _omitted, ...partial } = good;
    const file = write('partial.json', JSON.stringify({ anthropic: { 'claude-x': partial } }));
    assertConfigError(() => loadPriceTable({ file }), file, 'anthropic/claude-x', 'missing "cacheWrite1h"', 'USD per million');
  });

  it('fails clearly on a misspelt field and on the wrong shape', () => {
    const typo = write('typo.json', JSON.stringify({ openai: { 'gpt-4o': { ...good, cache_read: 1 } } }));
    assertConfigError(() => loadPriceTable({ file: typo }), typo, 'openai/gpt-4o', 'unknown field "cache_read"');
    const list = write('list.json', '[]');
    assertConfigError(() => loadPriceTable({ file: list }), list, 'expected a JSON object');
    const flat = write('flat.json', JSON.stringify({ 'gpt-4o': 2.5 }));
    assertConfigError(() => loadPriceTable({ file: flat }), flat, 'provider "gpt-4o"', 'keyed by model id');
  });

  it('validates in-memory overrides the same way', () => {
    assertConfigError(() => createPriceTable({ overrides: { openai: { 'gpt-4o': { ...good, input: Number.NaN } } } }), 'price overrides', 'openai/gpt-4o');
  });
});
