import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/free-port.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin/turnstream.js');
const example = (name: string): string => join(root, 'examples', `${name}.ndjson`);
const env = { ...process.env, TURNSTREAM_DATA_DIR: '', TURNSTREAM_URL: '', TURNSTREAM_CONFIG: '' };

function cli(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, env, encoding: 'utf8', ...(input === undefined ? {} : { input }) });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('turnstream CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'turnstream-cli-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('--help teaches: commands, options with env names and defaults, examples', () => {
    const main = cli(['--help']);
    assert.equal(main.status, 0);
    assert.match(main.stdout, /Commands:[\s\S]*start[\s\S]*send[\s\S]*sessions list/);
    const start = cli(['start', '--help']);
    assert.equal(start.status, 0);
    assert.match(start.stdout, /--port <value>.*\[default: 8787\]/);
    assert.match(start.stdout, /env TURNSTREAM_PORT/);
    assert.match(start.stdout, /OTEL_EXPORTER_OTLP_ENDPOINT/);
    for (const c of ['send', 'sessions', 'dead-letters']) assert.equal(cli([c, '--help']).status, 0);
  });

  it('fails with a clear message for bad input', () => {
    const unknown = cli(['frobnicate']);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
    const flag = cli(['start', '--prot', '1']);
    assert.equal(flag.status, 2);
    assert.match(flag.stderr, /Unknown option '--prot'/);
    const port = cli(['start', '--port', 'abc', '--data-dir', dir]);
    assert.equal(port.status, 2);
    assert.match(port.stderr, /--port: "abc" is not a port/);
    const missing = cli(['send', join(dir, 'nope.ndjson'), '--data-dir', dir]);
    assert.match(missing.stderr, /no such file/);
    const noData = cli(['sessions', 'list', '--data-dir', join(dir, 'empty')]);
    assert.equal(noData.status, 2);
    assert.match(noData.stderr, /no turnstream data in/);
  });

  it('send --data-dir, then sessions show --json in the documented shape', () => {
    const d = join(dir, 'store');
    const sent = cli(['send', example('coding-session'), '--data-dir', d]);
    assert.equal(sent.status, 0, sent.stderr);
    assert.match(sent.stdout, /19 accepted, 0 duplicate, 0 rejected/);
    const fromStdin = cli(['send', '-', '--data-dir', d], '{"v":1,"id":"x","type":"nope","session":"s","time":1}\n');
    assert.equal(fromStdin.status, 1, 'a rejected line makes the exit code 1');
    assert.match(fromStdin.stdout, /line 1: schema: type: unknown event type/);
    const shown = cli(['sessions', 'show', 'demo-1', '--json', '--data-dir', d]);
    assert.equal(shown.status, 0, shown.stderr);
    const report = JSON.parse(shown.stdout) as {
      session: string;
      totals: Record<string, number>;
      turns: { turn: string; status: string; toolNames: string[] }[];
      state: unknown;
    };
    assert.equal(report.session, 'demo-1');
    assert.deepEqual(
      { ...report.totals, cost: Math.round(report.totals['cost']! * 1e6) / 1e6 },
      {
        turns: 2,
        llmCalls: 4,
        toolCalls: 3,
        inputTokens: 6700,
        outputTokens: 1670,
        cacheReadTokens: 28500,
        cacheWriteTokens: 2000,
        reasoningTokens: 0,
        cost: 0.0363,
        errors: 1,
      },
    );
    assert.deepEqual(
      report.turns.map((t) => [t.turn, t.status, t.toolNames]),
      [
        ['turn-1', 'completed', ['Read', 'Bash', 'Edit']],
        ['turn-2', 'completed', []],
      ],
    );
    assert.deepEqual(report.state, { branch: 'fix-login' });
    const list = cli(['sessions', 'list', '--data-dir', d]);
    assert.match(list.stdout, /demo-1\s+2\s+4\s+3/);
    const unknownSession = cli(['sessions', 'show', 'nope', '--data-dir', d]);
    assert.equal(unknownSession.status, 2);
    assert.match(unknownSession.stderr, /no session "nope"/);
    const letters = cli(['dead-letters', '--json', '--data-dir', d]);
    assert.deepEqual((JSON.parse(letters.stdout) as { counts: unknown }).counts, { schema: 1 });
  });

  it('start serves ingest, refuses a second writer on the same data dir, and shuts down gracefully on SIGTERM', async () => {
    const d = join(dir, 'served');
    const port = await freePort();
    writeFileSync(join(dir, 'token'), 'tok-123\n');
    const server = spawn(process.execPath, [bin, 'start', '--data-dir', d, '--port', String(port), '--token-file', join(dir, 'token')], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    server.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const deadline = Date.now() + 15_000;
    while (!stderr.includes('listening on')) {
      if (Date.now() > deadline || server.exitCode !== null) assert.fail(`server did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(!stderr.includes('tok-123'), 'the token is never logged');
    const url = `http://127.0.0.1:${port}`;
    const denied = cli(['send', example('coding-session'), '--url', url]);
    assert.equal(denied.status, 2);
    assert.match(denied.stderr, /answered 401/);
    const sent = spawnSync(process.execPath, [bin, 'send', example('coding-session'), '--url', url], {
      cwd: root,
      env: { ...env, TURNSTREAM_TOKEN: 'tok-123' },
      encoding: 'utf8',
    });
    assert.match(sent.stdout, /19 accepted/);
    const second = cli(['send', example('coding-session'), '--data-dir', d]);
    assert.equal(second.status, 2);
    assert.match(second.stderr, /in use by turnstream \(pid \d+\)/);
    const health = (await (await fetch(`${url}/healthz`)).json()) as { ok: boolean; head: number };
    assert.deepEqual([health.ok, health.head], [true, 19]);
    server.kill('SIGTERM');
    const code = await new Promise((r) => server.once('exit', r));
    assert.equal(code, 0);
    assert.match(stderr, /"msg":"stopped"/);
    const shown = cli(['sessions', 'show', 'demo-1', '--json', '--data-dir', d]);
    assert.equal((JSON.parse(shown.stdout) as { totals: { turns: number } }).totals.turns, 2);
  });

  it('--max-depth, --max-tokens-per-call and --max-cost-per-call reach the decoder', () => {
    const d = join(dir, 'limits');
    const base = '"v":1,"session":"lim","turn":"t","time":"2026-03-02T10:00:00Z"';
    const lines = [
      `{${base},"id":"ok","type":"turn.start","attrs":{"a":1}}`,
      `{${base},"id":"deep","type":"state.set","key":"k","value":[[[[[[[[1]]]]]]]]}`,
      `{${base},"id":"tokens","type":"llm.usage","provider":"p","model":"m","inputTokens":1001,"outputTokens":1}`,
      `{${base},"id":"cost","type":"llm.usage","provider":"p","model":"m","inputTokens":1,"outputTokens":1,"cost":0.6}`,
    ].join('\n');
    const r = cli(['send', '-', '--data-dir', d, '--max-depth', '8', '--max-tokens-per-call', '1000', '--max-cost-per-call', '0.5'], lines);
    assert.equal(r.status, 1, r.stderr);
    const { letters } = JSON.parse(cli(['dead-letters', '--json', '--data-dir', d]).stdout) as { letters: { eventId?: string; reason: string }[] };
    const byId = Object.fromEntries(letters.map((l) => [l.eventId ?? '?', l.reason]));
    assert.equal(byId['tokens'], 'out_of_range');
    assert.equal(byId['cost'], 'out_of_range');
    assert.equal(letters.filter((l) => l.reason === 'too_deep').length, 1);
    assert.equal(byId['ok'], undefined);
  });
});
