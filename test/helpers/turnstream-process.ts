import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.ts';

const bin = fileURLToPath(new URL('../../bin/turnstream.js', import.meta.url));

export interface TurnstreamProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** Everything the process wrote to stderr so far (its JSON log lines). */
  stderr(): string;
  health(): Promise<Record<string, unknown>>;
  /** Sends a signal and resolves when the process has exited. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `turnstream start …args` as a real child process on a free port; resolves once it listens. */
export async function startTurnstreamProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<TurnstreamProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [bin, 'start', '--port', String(port), ...args], {
    env: { ...process.env, TURNSTREAM_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 60_000;
  // The server's own line: a child started with --inspect prints "Debugger listening on ws://…" first.
  while (!/turnstream \S+ listening on/.test(stderr)) {
    if (child.exitCode !== null) throw new Error(`turnstream exited (${child.exitCode}): ${stderr}`);
    if (Date.now() > deadline) throw new Error(`turnstream did not start within 60 s: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    child,
    stderr: () => stderr,
    health: async () => (await (await fetch(`${url}/healthz`)).json()) as Record<string, unknown>,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill(signal);
      const force = setTimeout(() => child.kill('SIGKILL'), 30_000); // never hang a test run
      const code = await exited;
      clearTimeout(force);
      return code;
    },
  };
}

/** Polls `check` until it returns true (or throws with `what` after `timeoutMs`). */
export async function eventually(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last === undefined ? '' : `: ${String(last)}`}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
