import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.ts';
import { toolBin } from './tool-bin.ts';
import type { PrometheusProcess } from './prometheus-process.ts';

export interface RuleEvaluatingPrometheus extends PrometheusProcess {
  /** `GET /api/v1/<path>`'s `data`, failing on an error status. */
  api<T>(path: string): Promise<T>;
}

/**
 * A real Prometheus for tests (startPrometheus in prometheus-process.ts is this with no rules), with rule files and an Alertmanager: a real
 * Prometheus scraping `targets` as job "turnstream" every second, evaluating `rules` (file name →
 * YAML text) every second and sending alerts to `alertmanagers` (host:port); `flags` are extra
 * command-line flags (e.g. `--web.enable-otlp-receiver`). The binary is the pinned upstream one
 * (toolBin). Fails, never skips, when it is missing.
 */
export async function startPrometheusWithRules({
  targets,
  rules,
  alertmanagers = [],
  bin = toolBin('prometheus'),
  flags = [],
}: {
  targets: string[];
  rules: Record<string, string>;
  alertmanagers?: string[];
  bin?: string;
  flags?: string[];
}): Promise<RuleEvaluatingPrometheus> {
  if (spawnSync(bin, ['--version']).status !== 0) {
    throw new Error(
      `Prometheus binary "${bin}" does not run: unset PROMETHEUS_BIN to use the one deploy/tools/tools.sh builds, or point it at a working binary`,
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'turnstream-prom-rules-'));
  for (const [name, text] of Object.entries(rules)) writeFileSync(join(dir, name), text);
  const quoted = (xs: string[]): string => `[${xs.map((x) => `'${x}'`).join(', ')}]`;
  const config = [
    'global:',
    '  scrape_interval: 1s',
    '  evaluation_interval: 1s',
    `rule_files: ${quoted(Object.keys(rules))}`,
    ...(alertmanagers.length === 0 ? [] : ['alerting:', '  alertmanagers:', `    - static_configs: [{ targets: ${quoted(alertmanagers)} }]`]),
    'scrape_configs:',
    '  - job_name: turnstream',
    `    static_configs: [{ targets: ${quoted(targets)} }]`,
    '',
  ].join('\n');
  writeFileSync(join(dir, 'prometheus.yml'), config);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    bin,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
      ...flags,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}): ${stderr}`);
    try {
      if ((await fetch(`${url}/-/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`prometheus not ready after 30 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const api = async <T>(path: string): Promise<T> => {
    const body = (await (await fetch(`${url}/api/v1/${path}`)).json()) as { status: string; error?: string; data: T };
    if (body.status !== 'success') throw new Error(`${path}: ${body.error}`);
    return body.data;
  };
  const query = async (expr: string) =>
    (await api<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(`query?query=${encodeURIComponent(expr)}`)).result;
  return {
    url,
    api,
    query,
    waitFor: async (expr, timeoutMs = 30_000) => {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const r = await query(expr);
        if (r.length > 0) return r;
        if (Date.now() > end) throw new Error(`no data for ${expr} after ${timeoutMs} ms`);
        await new Promise((res) => setTimeout(res, 250));
      }
    },
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
