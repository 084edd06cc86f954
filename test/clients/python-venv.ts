import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * OpenLLMetry's OpenAI instrumentation and what it needs, pinned. Not `traceloop-sdk`: its
 * dependency tree did not finish resolving in 5 minutes; these four install in about 30 s.
 * `openai` 3.51.0 and the OpenTelemetry SDK / OTLP-HTTP exporter 1.45.2 are the newest at the time
 * of writing that the instrumentation 0.62.4 resolves with.
 */
export const OPENLLMETRY_REQUIREMENTS: readonly string[] = [
  'opentelemetry-instrumentation-openai==0.62.4',
  'openai==3.51.0',
  'opentelemetry-sdk==1.45.2',
  'opentelemetry-exporter-otlp-proto-http==1.45.2',
];

export type Venv = { readonly python: string } | { readonly error: string };

/**
 * A Python venv with `requirements` installed from PyPI, cached under
 * `~/.cache/turnstream/venvs/<hash of the Python version and the requirements>` so only the first run
 * pays for the install. Built in a scratch directory and renamed into place when complete, so an
 * interrupted or concurrent build never leaves a half-installed venv behind. Never throws: says why
 * it could not build one (no `python3`, no `venv` module, pip failed).
 */
export function pythonVenv(requirements: readonly string[], python = 'python3'): Venv {
  const version = spawnSync(python, ['--version'], { encoding: 'utf8' });
  if (version.status !== 0) return { error: `${python} is not available: ${version.error?.message ?? version.stderr}` };
  const key = createHash('sha256')
    .update(`${version.stdout.trim()}\n${[...requirements].sort().join('\n')}`)
    .digest('hex')
    .slice(0, 16);
  const root = join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'turnstream', 'venvs');
  const dir = join(root, key);
  const bin = (d: string): string => join(d, process.platform === 'win32' ? 'Scripts/python.exe' : 'bin/python');
  if (existsSync(join(dir, '.complete'))) return { python: bin(dir) };
  mkdirSync(root, { recursive: true });
  const scratch = `${dir}.building-${process.pid}`;
  rmSync(scratch, { recursive: true, force: true });
  try {
    const made = spawnSync(python, ['-m', 'venv', scratch], { encoding: 'utf8', timeout: 120_000 });
    if (made.status !== 0) return { error: `${python} -m venv failed: ${made.stderr || made.error?.message}` };
    const pip = spawnSync(bin(scratch), ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '-q', ...requirements], {
      encoding: 'utf8',
      timeout: 400_000,
    });
    if (pip.status !== 0) return { error: `pip install ${requirements.join(' ')} failed: ${(pip.stderr || pip.error?.message || '').slice(-2000)}` };
    writeFileSync(join(scratch, '.complete'), `${requirements.join('\n')}\n`);
    try {
      renameSync(scratch, dir);
    } catch (error) {
      // Another run finished first: use its venv.
      if (!existsSync(join(dir, '.complete'))) return { error: `cannot move the venv into ${dir}: ${String(error)}` };
    }
    return { python: bin(dir) };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
