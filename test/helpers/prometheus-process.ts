import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.ts';

export interface PrometheusProcess {
  readonly url: string;
  /** Runs an instant query; returns the result vector. */
  query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  /** Polls `expr` until it returns at least one sample (or throws after `timeoutMs`). */
  waitFor(expr: string, timeoutMs?: number): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  stop(): Promise<void>;
}

/**
 * Starts a real Prometheus (the Debian package's binary) scraping `targets` every second, on a
 * free loopback port with its own temporary TSDB. Fails, never skips, when the binary is missing.
 */
export async function startPrometheus({ targets, bin = process.env['PROMETHEUS_BIN'] ?? 'prometheus' }: { targets: string[]; bin?: string }): Promise<PrometheusProcess> {
  if (spawnSync(bin, ['--version']).status !== 0) {
    throw new Error(`Prometheus binary "${bin}" not found: install it (apt-get install prometheus; .ci/run does) or set PROMETHEUS_BIN`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'turnstream-prom-'));
  writeFileSync(join(dir, 'prometheus.yml'), `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: turnstream\n    static_configs:\n      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]\n`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(bin, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
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
    if (Date.now() > deadline) throw new Error(`prometheus not ready after 30 s: ${stderr}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const query = async (expr: string) => {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as { status: string; error?: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    if (body.status !== 'success') throw new Error(`query ${expr} failed: ${body.error}`);
    return body.data.result;
  };
  return {
    url,
    query,
    waitFor: async (expr, timeoutMs = 30_000) => {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const r = await query(expr);
        if (r.length > 0) return r;
        if (Date.now() > end) throw new Error(`no data for ${expr} after ${timeoutMs} ms`);
        await new Promise((res) => setTimeout(res, 500));
      }
    },
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
