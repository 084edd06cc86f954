import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { EventSink } from '../../src/sources/claude/event-sink.ts';
import { importClaude } from '../../src/sources/claude/import-claude.ts';
import type { OutgoingEvent } from '../../src/sources/claude/mapped-event.ts';
import { clientUnavailable } from './client-gate.ts';
import { claudeTotals, claudeUnavailable, runClaudeCodeSession, sessionShow, type ClaudeRun } from './claude-code.ts';

const bin = fileURLToPath(new URL('../../bin/turnstream.js', import.meta.url));

// Issue 12, item 3: `import claude` right after `claude -p` has finished holds nothing back. Claude
// Code 2.x writes the stop reason on the lines of a finished call, so the session's last prompt is
// imported complete, without waiting for the transcript to be 10 minutes old.
describe('import claude of a transcript real Claude Code just wrote', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'turnstream-clients-import-'));
  let run: ClaudeRun | undefined;
  const unavailable = claudeUnavailable();
  before(async () => {
    if (unavailable === undefined) run = await runClaudeCodeSession();
  });
  after(() => {
    run?.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('Claude Code ran the script: both tools really ran, the resumed prompt kept the session', (t) => {
    if (clientUnavailable(t, unavailable)) return;
    const r = run!;
    assert.equal(r.scriptUsed, r.scriptLength, 'every scripted reply was asked for');
    assert.deepEqual(
      r.requests.filter((q) => q.kind === 'exhausted' || q.kind === 'unknown').map((q) => `${q.method} ${q.path}`),
      [],
      'every request Claude Code made was one the scripted API knows',
    );
    const results = r.requests.flatMap((q) => q.toolResults);
    assert.ok(
      results.some((x) => x.content.includes('scripted-bash-ran') && !x.is_error),
      'Bash ran',
    );
    assert.ok(
      results.some((x) => x.content.includes('hello from the notes') && !x.is_error),
      'Read ran',
    );
    assert.equal(r.results[1]!.session_id, r.session);
  });

  it('imports both prompts at once, with totals equal to Claude Code’s own usage and total_cost_usd', (t) => {
    if (clientUnavailable(t, unavailable)) return;
    const r = run!;
    const truth = claudeTotals(r.results);
    const imp = spawnSync(process.execPath, [bin, 'import', 'claude', r.projects, '--data-dir', dataDir, '--json'], {
      encoding: 'utf8',
      env: { ...process.env, TURNSTREAM_DATA_DIR: '', TURNSTREAM_URL: '', TURNSTREAM_CONFIG: '' },
    });
    assert.equal(imp.status, 0, imp.stderr);
    const summary = JSON.parse(imp.stdout) as { skipped: Record<string, number>; activeFiles: number; sent: { rejected: number } };
    assert.deepEqual(summary.skipped, {}, 'every line type Claude Code 2.1 writes is known');
    assert.equal(summary.activeFiles, 1, 'the session itself stays open: it may be resumed');
    assert.equal(summary.sent.rejected, 0);

    const s = sessionShow(dataDir, r.session);
    assert.deepEqual(
      s.turns.map((x) => [x.status, x.stopReason, x.toolNames, x.llmCallCount]),
      [
        ['completed', 'end_turn', ['Bash', 'Read'], 3],
        ['completed', 'end_turn', [], 1],
      ],
      'the last prompt is a completed turn, not held back',
    );
    const { turns, llmCalls, toolCalls, inputTokens, outputTokens, cacheReadTokens, cacheWriteTokens } = s.totals;
    assert.deepEqual(
      { turns, llmCalls, toolCalls, inputTokens, outputTokens, cacheReadTokens, cacheWriteTokens },
      {
        turns: 2,
        llmCalls: 4,
        toolCalls: 2,
        inputTokens: truth.inputTokens,
        outputTokens: truth.outputTokens,
        cacheReadTokens: truth.cacheReadTokens,
        cacheWriteTokens: truth.cacheWriteTokens,
      },
    );
    assert.ok(Math.abs(s.totals.cost - truth.cost) < 0.001, `cost ${s.totals.cost} vs Claude Code's total_cost_usd ${truth.cost}`);
  });

  it('keeps the 5-minute / 1-hour cache-write split, and an import once the transcript is idle adds only session.end', async (t) => {
    if (clientUnavailable(t, unavailable)) return;
    const r = run!;
    const truth = claudeTotals(r.results);
    const now = memorySink();
    await importClaude({ roots: [r.projects], sink: now });
    const calls = now.events.filter((e) => e.type === 'llm.usage') as (OutgoingEvent & { cacheWrite5mTokens?: number; cacheWrite1hTokens?: number })[];
    assert.equal(
      calls.reduce((n, e) => n + (e.cacheWrite5mTokens ?? 0), 0),
      truth.cacheWrite5mTokens,
    );
    assert.equal(
      calls.reduce((n, e) => n + (e.cacheWrite1hTokens ?? 0), 0),
      truth.cacheWrite1hTokens,
    );
    const later = memorySink();
    await importClaude({ roots: [r.projects], sink: later, nowMs: Date.now() + 11 * 60_000 });
    const before = new Set(now.events.map((e) => e.id));
    assert.deepEqual(
      later.events.filter((e) => !before.has(e.id)).map((e) => e.type),
      ['session.end'],
    );
  });
});

function memorySink(): EventSink & { events: OutgoingEvent[] } {
  const events: OutgoingEvent[] = [];
  return {
    target: 'memory',
    events,
    async send(batch) {
      events.push(...batch);
      return { accepted: batch.length, duplicate: 0, rejected: 0, rejections: [] };
    },
  };
}
