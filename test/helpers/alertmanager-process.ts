import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.ts';
import { toolBin } from './tool-bin.ts';

export interface AlertmanagerProcess {
  /** host:port, what Prometheus's `alerting.alertmanagers` targets take. */
  readonly address: string;
  readonly url: string;
  stop(): Promise<void>;
}

/** The pinned upstream Alertmanager (0.35, see toolBin), checked to run. */
function findBinary(): string {
  const bin = toolBin('alertmanager');
  if (spawnSync(bin, ['--version']).status !== 0) {
    throw new Error(
      `Alertmanager binary "${bin}" does not run: unset ALERTMANAGER_BIN to use the one deploy/tools/tools.sh builds, or point it at a working binary`,
    );
  }
  return bin;
}

/**
 * Starts a real Alertmanager with `config` (YAML text) on a free loopback port, clustering off,
 * with its own temporary storage. Fails, never skips, when the binary is missing.
 */
export async function startAlertmanager({ config }: { config: string }): Promise<AlertmanagerProcess> {
  const bin = findBinary();
  const dir = mkdtempSync(join(tmpdir(), 'turnstream-am-'));
  writeFileSync(join(dir, 'alertmanager.yml'), config);
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const url = `http://${address}`;
  const child: ChildProcess = spawn(
    bin,
    [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=${address}`,
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`alertmanager exited (${child.exitCode}): ${stderr}`);
    try {
      if ((await fetch(`${url}/-/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`alertmanager not ready after 30 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    address,
    url,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
