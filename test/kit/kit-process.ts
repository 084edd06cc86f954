import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../../', import.meta.url));
/** The extension under test, and the test-only one that records kit's own figures. */
export const turnstreamExtension = join(root, 'integrations/kit/turnstream.go');
export const captureExtension = join(root, 'integrations/kit/testdata/capture.go');
const kitScript = join(root, 'deploy/tools/kit.sh');

/**
 * Why kit cannot run here, or undefined when it can: the binary is $KIT_BIN (set by `npm test`'s
 * global setup), else what deploy/tools/kit.sh builds from ../shared/vendor/kit into its cache.
 */
export function kitBinOrReason(): { bin?: string; reason?: string } {
  const fromEnv = process.env['KIT_BIN'];
  if (fromEnv !== undefined && fromEnv !== '') return { bin: fromEnv };
  const r = spawnSync('bash', [kitScript, 'bin'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const bin = r.stdout?.trim().split('\n').pop();
  if (r.status !== 0 || bin === undefined || bin === '') return { reason: `kit could not be built: ${(r.stderr ?? '').trim().slice(-600)}` };
  process.env['KIT_BIN'] = bin;
  return { bin };
}

/** Why the go command cannot run, or undefined. */
export function goMissing(): string | undefined {
  const r = spawnSync('go', ['version'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : 'the go command is not on PATH (install Go 1.26.5+; kit and its extension tests need it)';
}

/**
 * kit (or Go) missing: in CI (`CI=true`) a failure, never a skip — a green run must mean kit really
 * ran; on a developer's machine the test is skipped with the reason. True when the test should stop.
 */
export function kitUnavailable(t: TestContext, reason: string | undefined): boolean {
  if (reason === undefined) return false;
  if (process.env['CI'] === 'true') throw new Error(`kit unavailable in CI: ${reason}`);
  t.skip(reason);
  return true;
}

export interface KitRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

export interface KitOptions {
  readonly bin: string;
  /** The scripted OpenAI-compatible server's base URL (…/v1). */
  readonly providerUrl: string;
  readonly extensions: readonly string[];
  readonly prompt: string;
  /** A private HOME (kit's config, sessions and extension folders): nothing of the user's leaks in. */
  readonly home: string;
  readonly cwd: string;
  readonly env?: Readonly<Record<string, string>>;
  /** Extra arguments; default `--no-session` (an ephemeral session). */
  readonly args?: readonly string[];
  /** kit's --model (default custom/custom: no price in kit's registry). */
  readonly model?: string;
  readonly timeoutMs?: number;
}

/** Runs kit headless, one prompt, against the scripted model; resolves when it exits. */
export function runKit(o: KitOptions): Promise<KitRun> {
  mkdirSync(o.home, { recursive: true });
  const args = ['--model', o.model ?? 'custom/custom', '--provider-url', o.providerUrl, '--provider-api-key', 'x', ...(o.args ?? ['--no-session'])];
  for (const e of o.extensions) args.push('-e', e);
  args.push(o.prompt);
  const started = Date.now();
  const child = spawn(o.bin, args, {
    cwd: o.cwd,
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: o.home,
      XDG_CONFIG_HOME: join(o.home, '.config'),
      XDG_DATA_HOME: join(o.home, '.local/share'),
      TERM: 'dumb',
      NO_COLOR: '1',
      ...o.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 120_000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}
