import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { RULE_FILES, deployPath, readDeploy, shippedRules } from '../helpers/deploy-files.ts';
import { toolBin, type ToolName } from '../helpers/tool-bin.ts';

/** Runs a pinned Prometheus tool (toolBin); fails (never skips) when it cannot be had. */
function run(tool: ToolName, args: string[], cwd = deployPath('prometheus')): string {
  const bin = toolBin(tool);
  const r = spawnSync(bin, args, { cwd, encoding: 'utf8' });
  if (r.error !== undefined) {
    assert.fail(`${bin} not runnable (${r.error.message}): unset ${tool.toUpperCase()}_BIN to use the one deploy/tools/tools.sh builds`);
  }
  const output = `${r.stdout}${r.stderr}`;
  assert.equal(r.status, 0, `${bin} ${args.join(' ')} failed:\n${output}`);
  return output;
}

describe('Prometheus and Alertmanager configs pass their own tools (promtool, amtool)', () => {
  it('promtool check rules: every shipped rules file', () => {
    const out = run('promtool', ['check', 'rules', ...RULE_FILES.map((f) => deployPath(f))]);
    assert.match(out, /SUCCESS: 16 rules found/);
    assert.match(out, /SUCCESS: 4 rules found/);
  });

  const testFiles = readdirSync(deployPath('prometheus/tests'))
    .filter((f) => f.endsWith('.test.yml'))
    .sort()
    .map((f) => `tests/${f}`);

  it('promtool test rules: the unit tests in deploy/prometheus/tests pass', () => {
    assert.deepEqual(testFiles, ['tests/turnstream-cost.test.yml', 'tests/turnstream-pipeline.test.yml']);
    const out = run('promtool', ['test', 'rules', ...testFiles]);
    assert.doesNotMatch(out, /FAILED/);
    assert.equal(out.match(/SUCCESS/g)?.length, testFiles.length, out);
  });

  it('every alert rule has a promtool test case where it fires', () => {
    const tests = testFiles.map((f) => readDeploy(`prometheus/${f}`)).join('\n');
    for (const r of shippedRules().filter((x) => x.kind === 'alert')) {
      assert.match(tests, new RegExp(`alertname: ${r.name}\\n\\s+exp_alerts:\\n\\s+- exp_labels`), `${r.name} has no firing test case`);
    }
  });

  it('promtool check config: the local and the compose Prometheus configs, with their rule files', () => {
    for (const config of ['prometheus.yml', 'prometheus.compose.yml']) {
      const out = run('promtool', ['check', 'config', config]);
      assert.match(out, /SUCCESS: 2 rule files found/, out);
    }
  });

  it('amtool check-config: the example Alertmanager config', () => {
    const out = run('amtool', ['check-config', deployPath('alertmanager/alertmanager.yml')]);
    assert.match(out, /SUCCESS/);
    assert.match(out, /3 receivers/);
  });
});
