import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { eventually, startTurnstreamProcess } from '../helpers/turnstream-process.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin/turnstream.js');
const external = fileURLToPath(new URL('../../../shared/fixtures/external/', import.meta.url));
const env = { ...process.env, TURNSTREAM_DATA_DIR: '', TURNSTREAM_URL: '', TURNSTREAM_CONFIG: '', CLAUDE_CONFIG_DIR: '' };

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, env, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function cliAsync(args: string[]): Promise<{ status: number | null; stdout: string }> {
  const child = spawn(process.execPath, [bin, ...args], { cwd: root, env });
  let stdout = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  const status = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { status, stdout };
}

/** Each session's totals and turns as `sessions show --json` prints them (what a user sees). */
function shown(dataDir: string, sessions: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const s of sessions) {
    const r = cli(['sessions', 'show', s, '--json', '--data-dir', dataDir]);
    assert.equal(r.status, 0, r.stderr);
    out[s] = JSON.parse(r.stdout);
  }
  return out;
}

/** A live agent's turn, timed now: newer than every event of the transcripts by months. */
function liveTraffic(): string {
  const now = Date.now();
  const e = (i: number, type: string, extra: object) => JSON.stringify({ v: 1, id: `live-${i}`, type, session: 'live-agent', time: now - 5_000 + i, ...extra });
  return [
    e(0, 'session.start', { agent: 'live' }),
    e(1, 'turn.start', { turn: 't1' }),
    e(2, 'llm.usage', { turn: 't1', provider: 'anthropic', model: 'claude-sonnet-4-5', inputTokens: 10, outputTokens: 5, cost: 0.01 }),
    e(3, 'turn.end', { turn: 't1', stopReason: 'end_turn' }),
  ].join('\n');
}

describe('import claude into a store that already holds newer events', () => {
  const dir = mkdtempSync(join(tmpdir(), 'turnstream-import-live-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('gives the same sessions, turns and totals as an import into an empty store, with nothing late', async () => {
    const empty = join(dir, 'empty');
    const fresh = JSON.parse(cli(['import', 'claude', external, '--data-dir', empty, '--json']).stdout) as { sessions: { session: string }[]; late: number };
    const sessions = fresh.sessions.map((s) => s.session).sort();
    assert.equal(sessions.length, 4);
    assert.equal(fresh.late, 0);

    // A running server that has seen today's traffic, then last year's transcripts sent to it.
    const live = join(dir, 'live');
    const server = await startTurnstreamProcess(['--data-dir', live], { OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none' });
    try {
      const file = join(dir, 'live.ndjson');
      writeFileSync(file, `${liveTraffic()}\n`);
      assert.equal((await cliAsync(['send', file, '--url', server.url])).status, 0);
      const imported = await cliAsync(['import', 'claude', external, '--url', server.url, '--json']);
      assert.equal(imported.status, 0);
      assert.equal((JSON.parse(imported.stdout) as { sent: { accepted: number } }).sent.accepted, 1685);
      await eventually('every event processed', async () => {
        const h = (await (await fetch(`${server.url}/healthz`)).json()) as { processed?: number };
        return h.processed === 1685 + 4;
      });
    } finally {
      await server.stop();
    }
    assert.deepEqual(shown(live, sessions), shown(empty, sessions), 'the imported sessions are the same in both stores');
    const letters = JSON.parse(cli(['dead-letters', '--json', '--data-dir', live]).stdout) as { counts: Record<string, number> };
    assert.equal(letters.counts['late'] ?? 0, 0, 'no imported event was judged late against the newer live traffic');
    const liveSession = JSON.parse(cli(['sessions', 'show', 'live-agent', '--json', '--data-dir', live]).stdout) as { totals: { turns: number } };
    assert.equal(liveSession.totals.turns, 1);
  });
});
