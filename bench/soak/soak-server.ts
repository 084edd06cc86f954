/**
 * The soak's turnstream: a real `turnstream start` child process on one data dir, started again
 * after every kill -9, with its peak RSS (VmHWM) read before each kill.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/turnstream.js', import.meta.url));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => resolve(typeof a === 'object' && a !== null ? a.port : 0));
    });
  });
}

/** Peak resident set of a live process in bytes (0 once it is gone). */
function peakRss(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export interface SoakServer {
  readonly url: string;
  readonly restarts: number;
  readonly maxRssBytes: number;
  /** The server's log lines (stderr), all incarnations. */
  log(): string;
  start(): Promise<void>;
  kill9(): Promise<void>;
  stop(): Promise<void>;
  /** Samples the current process's peak RSS into maxRssBytes. */
  sample(): void;
}

export async function createSoakServer({ dataDir, extraArgs = [] }: { dataDir: string; extraArgs?: string[] }): Promise<SoakServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let restarts = -1;
  let maxRss = 0;
  let log = '';
  const sample = (): void => {
    maxRss = Math.max(maxRss, peakRss(child?.pid));
  };
  const exited = (c: ChildProcess): Promise<void> =>
    c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', () => r()));
  const start = async (): Promise<void> => {
    restarts++;
    // A kill -9 leaves the data dir lock to a dead pid; the new process must take it over by itself.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const c = spawn(process.execPath, [bin, 'start', '--port', String(port), '--data-dir', dataDir, ...extraArgs], {
        env: { ...process.env, TURNSTREAM_LOG_LEVEL: 'warn', OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let err = '';
      c.stderr?.on('data', (d: Buffer) => {
        err += d.toString();
        log += d.toString();
      });
      child = c;
      for (;;) {
        if (c.exitCode !== null) break;
        try {
          const h = await fetch(`${url}/healthz`);
          if (h.status === 200 || h.status === 503) return;
        } catch {
          // not listening yet
        }
        if (Date.now() > deadline) throw new Error(`turnstream did not start within 60 s: ${err.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`turnstream exited at start (code ${c.exitCode}): ${err.slice(-2000)}`);
    }
  };
  return {
    url,
    get restarts() {
      return restarts;
    },
    get maxRssBytes() {
      return maxRss;
    },
    log: () => log,
    start,
    sample,
    kill9: async () => {
      sample();
      const c = child;
      if (c === undefined) return;
      c.kill('SIGKILL');
      await exited(c);
    },
    stop: async () => {
      sample();
      const c = child;
      if (c === undefined) return;
      c.kill('SIGTERM');
      const force = setTimeout(() => c.kill('SIGKILL'), 30_000);
      await exited(c);
      clearTimeout(force);
    },
  };
}
