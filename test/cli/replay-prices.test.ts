import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PRICE_RECORD_FILE, recordedPrices } from '../../src/cli/price-record.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin/turnstream.js');
const example = join(root, 'examples', 'coding-session.ndjson');
const baseEnv: NodeJS.ProcessEnv = {
  ...process.env,
  TURNSTREAM_DATA_DIR: '',
  TURNSTREAM_CONFIG: '',
  TURNSTREAM_PRICES: '',
  TURNSTREAM_KAFKA_BROKERS: '',
  TURNSTREAM_URL: '',
};

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: { ...baseEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const cost = (stdout: string): number => Math.round((JSON.parse(stdout) as { totals: { cost: number } }).totals.cost * 1e9) / 1e9;
const liveCost = async (dataDir: string): Promise<number> => cost((await cli(['sessions', 'show', 'demo-1', '--json', '--data-dir', dataDir])).stdout);

describe('replay prices as the store was priced', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'turnstream-replay-prices-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  // Ten times the built-in Sonnet price: a replay with the built-in table would cost less.
  const priceFile = join(dir, 'prices.json');
  writeFileSync(
    priceFile,
    JSON.stringify({ anthropic: { 'claude-sonnet-4-5': { input: 30, output: 150, cacheRead: 3, cacheWrite5m: 37.5, cacheWrite1h: 60 } } }),
  );

  it('a store written with a price file: replay without --prices uses the recorded table, even after the file changed', async () => {
    const dataDir = join(dir, 'custom');
    assert.equal((await cli(['send', example, '--data-dir', dataDir, '--prices', priceFile])).status, 0);
    assert.deepEqual(
      recordedPrices(dataDir).map((t) => t.file),
      [priceFile],
    );
    const live = await liveCost(dataDir);
    writeFileSync(priceFile, '{}'); // the file is edited after the run: the record still holds what was used
    const r = await cli(['replay', 'demo-1', '--json', '--data-dir', dataDir]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(cost(r.stdout), live);
    assert.match(
      r.stderr,
      new RegExp(
        `pricing with the price file ${priceFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} the store was written with \\(as recorded in ${PRICE_RECORD_FILE}\\)`,
      ),
    );
  });

  it('a store written with the built-in prices, replayed with a configured price file: a warning naming both', async () => {
    const dataDir = join(dir, 'builtin');
    const other = join(dir, 'other.json');
    writeFileSync(other, JSON.stringify({ anthropic: { 'claude-sonnet-4-5': { input: 1, output: 1, cacheRead: 1, cacheWrite5m: 1, cacheWrite1h: 1 } } }));
    assert.equal((await cli(['send', example, '--data-dir', dataDir])).status, 0);
    const same = await cli(['replay', 'demo-1', '--json', '--data-dir', dataDir]);
    assert.equal(same.stderr.includes('warning'), false, same.stderr);
    assert.equal(cost(same.stdout), await liveCost(dataDir));
    const r = await cli(['replay', 'demo-1', '--json', '--data-dir', dataDir], { TURNSTREAM_PRICES: other });
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stderr,
      /warning: the store was priced with the built-in prices; this replay prices with price file .*other\.json, so costs may differ from the live run/,
    );
    const repricing = await cli(['replay', 'demo-1', '--json', '--data-dir', dataDir, '--prices', other]);
    assert.equal(repricing.stderr.includes('warning'), false, 'an explicit --prices is a re-pricing: no warning');
  });

  it('a store written with two price tables: the warning lists both and replay keeps the configured one', async () => {
    const dataDir = join(dir, 'mixed');
    writeFileSync(
      priceFile,
      JSON.stringify({ anthropic: { 'claude-sonnet-4-5': { input: 30, output: 150, cacheRead: 3, cacheWrite5m: 37.5, cacheWrite1h: 60 } } }),
    );
    await cli(['send', example, '--data-dir', dataDir, '--prices', priceFile]);
    await cli(['send', example, '--data-dir', dataDir]);
    assert.equal(recordedPrices(dataDir).length, 2);
    const r = await cli(['replay', 'demo-1', '--json', '--data-dir', dataDir]);
    assert.match(
      r.stderr,
      /warning: the store was priced with price file .*prices\.json, then the built-in prices; this replay prices with the built-in prices/,
    );
    assert.ok(JSON.parse(readFileSync(join(dataDir, PRICE_RECORD_FILE), 'utf8')).tables[0].overrides.anthropic);
  });
});
