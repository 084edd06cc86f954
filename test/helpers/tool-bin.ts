import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The Prometheus / Alertmanager binaries the tests run, and the variable that overrides each. */
export type ToolName = 'prometheus' | 'promtool' | 'alertmanager' | 'amtool';

export const TOOL_ENV: Readonly<Record<ToolName, string>> = {
  prometheus: 'PROMETHEUS_BIN',
  promtool: 'PROMTOOL_BIN',
  alertmanager: 'ALERTMANAGER_BIN',
  amtool: 'AMTOOL_BIN',
};

const script = fileURLToPath(new URL('../../deploy/tools/tools.sh', import.meta.url));
const cache = new Map<ToolName, string>();

/**
 * The path of a pinned upstream tool (Prometheus 3.16, Alertmanager 0.35): $PROMETHEUS_BIN etc.
 * (set by `npm test`'s global setup, test/global-setup.ts), or else what deploy/tools/tools.sh
 * built into its cache (it builds there when missing: minutes, once). Deliberately not whatever
 * `prometheus` is on PATH: Debian's is 2.x, and the tests are about what users run today.
 * Throws, never skips, with what to do when the tool cannot be had.
 */
export function toolBin(name: ToolName): string {
  const known = cache.get(name);
  if (known !== undefined) return known;
  const fromEnv = process.env[TOOL_ENV[name]];
  if (fromEnv !== undefined && fromEnv !== '') {
    cache.set(name, fromEnv);
    return fromEnv;
  }
  const r = spawnSync('bash', [script, 'bin', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const path = r.stdout?.trim().split('\n').pop();
  if (r.status !== 0 || path === undefined || path === '') {
    throw new Error(
      `${name} is not available: ${(r.stderr ?? '').trim().slice(-400)}\nRun the tests with \`npm test\` (its global setup builds Prometheus and Alertmanager with deploy/tools/tools.sh; needs Go 1.26.7+), or run \`bash deploy/tools/tools.sh install\` once, or set ${TOOL_ENV[name]} to a ${name} binary.`,
    );
  }
  cache.set(name, path);
  return path;
}
