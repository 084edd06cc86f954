import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/free-port.ts';
import { eventually, startTurnstreamProcess } from '../helpers/turnstream-process.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin/turnstream.js');
const external = fileURLToPath(new URL('../../../shared/fixtures/external/', import.meta.url));
const env = { ...process.env, TURNSTREAM_DATA_DIR: '', TURNSTREAM_URL: '', TURNSTREAM_CONFIG: '', CLAUDE_CONFIG_DIR: '' };

function cli(args: string[], extraEnv: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, env: { ...env, ...extraEnv }, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('turnstream import claude', () => {
  const dir = mkdtempSync(join(tmpdir(), 'turnstream-cli-import-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('--help teaches: what is imported, what is not, where it goes, examples', () => {
    const help = cli(['import', '--help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /Usage: turnstream import claude \[DIR\|FILE \.\.\.\]/);
    assert.match(help.stdout, /--watch/);
    assert.match(help.stdout, /no\s+prompt, reply, tool input or tool output/);
    assert.match(help.stdout, /ccusage/);
    assert.match(help.stdout, /--data-dir <value>/);
    assert.match(cli(['--help']).stdout, /import claude \[DIR\]/);
  });

  it('fails with a clear message for bad input', () => {
    const none = cli(['import']);
    assert.equal(none.status, 2);
    assert.match(none.stderr, /import needs a source: turnstream import claude/);
    const unknown = cli(['import', 'codex']);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /unknown import source "codex"; supported: claude/);
    const missing = cli(['import', 'claude', join(dir, 'nope'), '--data-dir', join(dir, 'd0')]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /nope does not exist/);
    const noDefault = cli(['import', 'claude', '--data-dir', join(dir, 'd0')], { CLAUDE_CONFIG_DIR: join(dir, 'no-claude-here') });
    assert.equal(noDefault.status, 2);
    assert.match(noDefault.stderr, /no Claude Code transcripts at .*no-claude-here\/projects; pass their directory/);
    const both = cli(['import', 'claude', external, '--data-dir', join(dir, 'd0'), '--url', 'http://127.0.0.1:1']);
    assert.match(both.stderr, /choose one target/);
  });

  it('says how to go on when no server answers at --url', async () => {
    const port = await freePort();
    const r = cli(['import', 'claude', external, '--url', `http://127.0.0.1:${port}`]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /cannot reach turnstream at http:\/\/127\.0\.0\.1:\d+ .*--data-dir/);
  });

  it('imports into a data dir (summary, --json), the sessions are there, and importing again adds nothing', () => {
    const d = join(dir, 'store');
    const human = cli(['import', 'claude', external, '--data-dir', d]);
    assert.equal(human.status, 0, human.stderr);
    assert.match(human.stdout, /9 files \(5 main, 4 subagent\)/);
    assert.match(human.stdout, /4 sessions, 23 turns, 504 LLM calls, 565 tool calls → 1,688 events/);
    assert.match(human.stdout, /1,685 accepted, 3 duplicate/);
    assert.match(human.stdout, /skipped: nothing/);
    assert.match(human.stdout, /3a7770b4-aba3-46dd-b677-8fc2d71d4e06\s+-\s+6\s+24\s+19\s+124\s+2759\s+404173\s+19486\s+\$1\.1804/);

    const again = cli(['import', 'claude', external, '--data-dir', d, '--json']);
    assert.equal(again.status, 0, again.stderr);
    const summary = JSON.parse(again.stdout) as {
      sent: { accepted: number; duplicate: number };
      sessions: { session: string }[];
      skipped: object;
      files: number;
      late: number;
    };
    assert.deepEqual([summary.sent.accepted, summary.sent.duplicate, summary.files, summary.late], [0, 1688, 9, 0]);
    assert.deepEqual(summary.skipped, {});
    assert.equal(summary.sessions.length, 4);
    const letters = JSON.parse(cli(['dead-letters', '--json', '--data-dir', d]).stdout) as { counts: unknown };
    assert.deepEqual(
      letters.counts,
      { duplicate: 3 },
      'events already in the store are not sent again: only the copied file of the first import is a dead letter',
    );

    const list = cli(['sessions', 'list', '--json', '--data-dir', d]);
    const rows = JSON.parse(list.stdout) as { session: string; totals: { outputTokens: number; turns: number } }[];
    assert.deepEqual(rows.map((r) => [r.session, r.totals.outputTokens]).sort(), [
      ['3a7770b4-aba3-46dd-b677-8fc2d71d4e06', 2759],
      ['4d5611e5-241a-462a-8d15-5122611a9569', 28899],
      ['8463c716-a2ea-4c14-9efa-87158ebd9f20', 40359],
      ['fe5e1c67-53e7-4862-81ae-d0e013e3270b', 51933],
    ]);
  });

  it('sends to a running turnstream (--url): its /metrics shows the cost', async () => {
    const server = await startTurnstreamProcess(['--data-dir', join(dir, 'server')], { OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none' });
    try {
      const child = spawn(process.execPath, [bin, 'import', 'claude', join(external, 'claude-parser-3a7770b4.jsonl'), '--url', server.url, '--json'], {
        cwd: root,
        env,
      });
      let stdout = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      assert.equal(code, 0);
      assert.equal(
        (JSON.parse(stdout) as { sent: { accepted: number } }).sent.accepted,
        76,
        '1 session.start + 6 turns × 2 + 24 calls + 19 tools × 2 + 1 session.end',
      );
      await eventually(
        'the cost on /metrics',
        async () => /turnstream_llm_cost_usd_total\{[^}]*claude-opus-4-1-20250805[^}]*\} 1\.18/.test(await (await fetch(`${server.url}/metrics`)).text()),
        20_000,
      );
    } finally {
      await server.stop();
    }
  });

  it('--watch sends lines appended while it runs, and stops on SIGINT', async () => {
    const projects = join(dir, 'claude', 'projects', '-home-me-parser');
    mkdirSync(projects, { recursive: true });
    const lines = readFileSync(join(external, 'claude-parser-3a7770b4.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l !== '');
    const file = join(projects, '3a7770b4-aba3-46dd-b677-8fc2d71d4e06.jsonl');
    writeFileSync(file, `${lines.slice(0, 4).join('\n')}\n`);
    const child = spawn(process.execPath, [bin, 'import', 'claude', '--watch', '--json', '--data-dir', join(dir, 'watched')], {
      cwd: root,
      env: { ...env, CLAUDE_CONFIG_DIR: join(dir, 'claude') },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const reports = (): { initial: boolean; accepted: number; llmCalls: number; toolCalls: number }[] =>
      stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l));
    const waitFor = async (what: string, check: () => boolean): Promise<void> => {
      const until = Date.now() + 20_000;
      while (!check()) {
        if (Date.now() > until) throw new Error(`timed out waiting for ${what}; stdout: ${stdout}; stderr: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      await waitFor('the existing transcript', () => stderr.includes('following new lines'));
      assert.equal(reports()[0]?.initial, true);
      appendFileSync(file, `${lines.slice(4, 10).join('\n')}\n`); // a tool result, the next call, its result, a third call starting
      await waitFor('the appended lines', () => reports().some((r) => !r.initial && r.accepted > 0));
      const later = reports().filter((r) => !r.initial);
      assert.equal(
        later.reduce((n, r) => n + r.llmCalls, 0),
        1,
        'the call completed by the one after it',
      );
      assert.equal(
        later.reduce((n, r) => n + r.toolCalls, 0),
        2,
      );
    } finally {
      child.kill('SIGINT');
    }
    assert.equal(await exited, 0, stderr);
  });
});
