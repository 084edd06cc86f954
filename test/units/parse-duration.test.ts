import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { resolveConfig } from '../../src/cli/resolve-config.ts';
import { parseBudgetRules } from '../../src/streams/budget-rule.ts';
import { DURATION_EXAMPLES, parseDuration } from '../../src/units/parse-duration.ts';

const GOOD: [string | number, number][] = [
  ['250ms', 250],
  ['30s', 30_000],
  ['10m', 600_000],
  ['1h', 3_600_000],
  ['1d', 86_400_000],
  ['1.5h', 5_400_000],
  ['0.5d', 43_200_000],
  ['600000', 600_000],
  [' 2 M ', 120_000],
  ['1D', 86_400_000],
  [90_000, 90_000],
  [0, 0],
];
const BAD: (string | number)[] = ['', 'soon', '-5s', '1e3', '5 minutes', '1h30m', '2w', '.5s', '1.s', -1, Number.NaN, Number.POSITIVE_INFINITY];

describe('parseDuration: one grammar for settings and budget rules', () => {
  const dir = mkdtempSync(join(tmpdir(), 'turnstream-duration-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const empty = join(dir, 'empty.json');
  writeFileSync(empty, '{}');
  it('accepts ms, s, m, h, d (any case, blanks around), decimals, a bare number of milliseconds', () => {
    for (const [input, ms] of GOOD) assert.equal(parseDuration(input), ms, `parseDuration(${JSON.stringify(input)})`);
  });

  it('rejects everything else with a message that names the grammar', () => {
    for (const bad of BAD) assert.throws(() => parseDuration(bad), { message: `"${String(bad)}" is not a duration; ${DURATION_EXAMPLES}` });
  });

  it('a setting and a budget window read every duration the same', () => {
    for (const [input, ms] of GOOD) {
      assert.equal(resolveConfig({ config: empty, grace: String(input) }, {}).graceMs, ms, `--grace ${input}`);
      const [rule] = parseBudgetRules({ rules: [{ name: 'r', scope: 'agent', window: input, hard: 1 }] });
      assert.equal(rule?.windowMs, ms, `window ${JSON.stringify(input)}`);
    }
    for (const bad of BAD.filter((b) => typeof b === 'string')) {
      assert.throws(() => resolveConfig({ config: empty, grace: String(bad) }, {}), /is not a duration/);
      assert.throws(() => parseBudgetRules({ rules: [{ name: 'r', scope: 'agent', window: bad, hard: 1 }] }), /is not a duration/);
    }
  });
});
