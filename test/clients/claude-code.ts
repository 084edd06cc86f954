import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startScriptedAnthropicServer, type RecordedAnthropicRequest, type ScriptedAnthropicReply } from '../helpers/scripted-anthropic-server.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const require = createRequire(import.meta.url);

/** The model every scripted run asks for; priced in src/events/default-prices.json. */
export const CLAUDE_MODEL = 'claude-sonnet-4-5';

/** Claude Code's own `--output-format json` result: the ground truth the tests compare with. */
export interface ClaudeResult {
  readonly session_id: string;
  readonly is_error: boolean;
  readonly num_turns: number;
  /** Cumulative over a resumed session (Claude Code restores its cost state on `--resume`). */
  readonly total_cost_usd: number;
  /** This invocation only. */
  readonly usage: {
    readonly input_tokens: number;
    readonly output_tokens: number;
    readonly cache_read_input_tokens: number;
    readonly cache_creation_input_tokens: number;
    readonly cache_creation?: { readonly ephemeral_5m_input_tokens: number; readonly ephemeral_1h_input_tokens: number };
  };
}

/**
 * The Claude Code binary: the platform package's native executable (an optional dependency of
 * `@anthropic-ai/claude-code`), so the test does not depend on the wrapper's postinstall having
 * copied it over `bin/claude.exe`; else that bin. Undefined when neither is installed.
 */
export function claudeBinary(): string | undefined {
  for (const libc of ['', '-musl']) {
    try {
      const pkg = `@anthropic-ai/claude-code-${process.platform}-${process.arch}${libc}`;
      const bin = join(dirname(require.resolve(`${pkg}/package.json`)), process.platform === 'win32' ? 'claude.exe' : 'claude');
      if (existsSync(bin)) return bin;
    } catch {
      // not installed for this platform: try the next, then the wrapper's bin
    }
  }
  const wrapper = join(root, 'node_modules/@anthropic-ai/claude-code/bin/claude.exe');
  return existsSync(wrapper) && spawnSync(wrapper, ['--version'], { encoding: 'utf8' }).status === 0 ? wrapper : undefined;
}

/** Why Claude Code cannot run here, or undefined when it can. */
export function claudeUnavailable(): string | undefined {
  const bin = claudeBinary();
  if (bin === undefined) return '@anthropic-ai/claude-code (and its platform binary) is not installed: npm ci';
  const v = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  return v.status === 0 ? undefined : `${bin} --version failed: ${v.stderr || v.error?.message}`;
}

/**
 * The scripted conversation: prompt 1 runs Bash then Read and answers (5-minute cache write, then a
 * read plus a 1-hour write), prompt 2 (`--resume`) answers at once with another 5-minute write.
 */
export function codingScript(workDir: string): ScriptedAnthropicReply[] {
  return [
    {
      text: 'Let me look around.',
      toolUses: [{ name: 'Bash', input: { command: 'echo scripted-bash-ran', description: 'Print a marker' } }],
      usage: { input: 120, output: 40, cacheWrite5m: 2000 },
    },
    // 4,000 one-hour writes: priced at the 5-minute rate they would cost $0.009 less, so the split is checked.
    { toolUses: [{ name: 'Read', input: { file_path: join(workDir, 'notes.txt') } }], usage: { input: 30, output: 25, cacheRead: 2000, cacheWrite1h: 4000 } },
    { text: 'The notes say hello.', usage: { input: 10, output: 12, cacheRead: 6000 } },
    { text: 'Still hello.', usage: { input: 15, output: 9, cacheRead: 6000, cacheWrite5m: 300 } },
  ];
}

export interface ClaudeRun {
  readonly home: string;
  /** `$HOME/.claude/projects`: where Claude Code wrote the transcript. */
  readonly projects: string;
  readonly session: string;
  /** One result per invocation: the first prompt, then the resumed one. */
  readonly results: readonly ClaudeResult[];
  readonly requests: readonly RecordedAnthropicRequest[];
  readonly scriptUsed: number;
  readonly scriptLength: number;
  cleanup(): void;
}

/**
 * Runs real Claude Code headless twice against a scripted Anthropic API: `claude -p` with Bash and
 * Read allowed, then `--resume` with a second prompt, with HOME in a fresh temp dir. `env` adds
 * variables (the OTLP exporter settings). Throws if Claude Code fails or reports an error.
 */
export async function runClaudeCodeSession(env: Record<string, string> = {}): Promise<ClaudeRun> {
  const bin = claudeBinary();
  if (bin === undefined) throw new Error('Claude Code is not installed');
  const home = mkdtempSync(join(tmpdir(), 'turnstream-claude-home-'));
  const work = join(home, 'work');
  spawnSync('mkdir', ['-p', work]);
  writeFileSync(join(work, 'notes.txt'), 'hello from the notes\n');
  const script = codingScript(work);
  const api = await startScriptedAnthropicServer({ script });
  const baseEnv: Record<string, string> = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: home,
    ANTHROPIC_BASE_URL: api.url,
    ANTHROPIC_API_KEY: 'sk-ant-scripted-test',
    // Offline: no update checks or error reports to the outside.
    DISABLE_AUTOUPDATER: '1',
    DISABLE_ERROR_REPORTING: '1',
    ...env,
  };
  const args = ['--output-format', 'json', '--model', CLAUDE_MODEL, '--allowedTools', 'Bash,Read'];
  try {
    const first = await claude(bin, ['-p', 'What do the notes say?', ...args], work, baseEnv);
    const second = await claude(bin, ['-p', 'Say it again.', ...args, '--resume', first.session_id], work, baseEnv);
    return {
      home,
      projects: join(home, '.claude', 'projects'),
      session: first.session_id,
      results: [first, second],
      requests: api.requests,
      scriptUsed: api.used,
      scriptLength: script.length,
      cleanup: () => rmSync(home, { recursive: true, force: true }),
    };
  } finally {
    await api.close();
  }
}

function claude(bin: string, args: string[], cwd: string, env: Record<string, string>): Promise<ClaudeResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      try {
        const r = JSON.parse(out) as ClaudeResult;
        if (code !== 0 || r.is_error) throw new Error(`exit ${code}`);
        resolve(r);
      } catch (error) {
        reject(new Error(`claude ${args.join(' ')} failed (${String(error)}): ${out.slice(0, 2000)} ${err.slice(0, 2000)}`));
      }
    });
  });
}

/** Claude Code's own totals over both invocations: tokens summed, cost as its last (cumulative) result says. */
export function claudeTotals(results: readonly ClaudeResult[]): {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  cacheWrite5mTokens: number;
  cacheWrite1hTokens: number;
  cost: number;
} {
  const sum = (f: (r: ClaudeResult) => number | undefined): number => results.reduce((s, r) => s + (f(r) ?? 0), 0);
  return {
    inputTokens: sum((r) => r.usage.input_tokens),
    outputTokens: sum((r) => r.usage.output_tokens),
    cacheReadTokens: sum((r) => r.usage.cache_read_input_tokens),
    cacheWriteTokens: sum((r) => r.usage.cache_creation_input_tokens),
    cacheWrite5mTokens: sum((r) => r.usage.cache_creation?.ephemeral_5m_input_tokens),
    cacheWrite1hTokens: sum((r) => r.usage.cache_creation?.ephemeral_1h_input_tokens),
    cost: results[results.length - 1]!.total_cost_usd,
  };
}

/** `turnstream sessions show <id> --json` against a data dir (works while a server runs on it). */
export function sessionShow(dataDir: string, session: string): SessionShow {
  const r = spawnSync(process.execPath, [join(root, 'bin/turnstream.js'), 'sessions', 'show', session, '--data-dir', dataDir, '--json'], {
    encoding: 'utf8',
    env: { ...process.env, TURNSTREAM_DATA_DIR: '', TURNSTREAM_URL: '', TURNSTREAM_CONFIG: '' },
  });
  if (r.status !== 0) throw new Error(`sessions show ${session} failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as SessionShow;
}

/** The parts of `sessions show --json` the client tests compare. */
export interface SessionShow {
  readonly totals: {
    readonly turns: number;
    readonly llmCalls: number;
    readonly toolCalls: number;
    readonly inputTokens: number;
    readonly outputTokens: number;
    readonly cacheReadTokens: number;
    readonly cacheWriteTokens: number;
    readonly cost: number;
    readonly errors: number;
  };
  readonly turns: readonly {
    readonly turn: string;
    readonly status: string;
    readonly stopReason?: string;
    readonly toolNames: readonly string[];
    readonly llmCallCount: number;
    readonly inputTokens: number;
    readonly outputTokens: number;
    readonly cacheReadTokens: number;
    readonly cacheWriteTokens: number;
    readonly cost: number;
  }[];
}
