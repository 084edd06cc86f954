import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { eventually, startTurnstreamProcess, type TurnstreamProcess } from '../helpers/turnstream-process.ts';
import { clientUnavailable } from './client-gate.ts';
import { claudeTotals, claudeUnavailable, runClaudeCodeSession, sessionShow, type ClaudeRun, type SessionShow } from './claude-code.ts';

const bin = fileURLToPath(new URL('../../bin/turnstream.js', import.meta.url));
const PROTOCOLS = ['http/json', 'http/protobuf'] as const;
const IDLE = '20s';

// Issue 12: real Claude Code exports its telemetry (OTLP logs, JSON and protobuf) to a real
// `turnstream start`; the same session imported from the transcript Claude Code wrote gives the same
// totals, and both equal what Claude Code itself reported (usage, total_cost_usd).
describe('Claude Code → OTLP logs → turnstream, and import claude of the same sessions', () => {
  const dir = mkdtempSync(join(tmpdir(), 'turnstream-clients-claude-otlp-'));
  const otlpStore = join(dir, 'otlp');
  const importStore = join(dir, 'import');
  const unavailable = claudeUnavailable();
  const runs = new Map<string, ClaudeRun>();
  let server: TurnstreamProcess | undefined;
  before(async () => {
    if (unavailable !== undefined) return;
    server = await startTurnstreamProcess(['--data-dir', otlpStore, '--turn-idle-timeout', IDLE], {
      OTEL_TRACES_EXPORTER: 'none',
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
    });
    for (const protocol of PROTOCOLS) {
      runs.set(
        protocol,
        await runClaudeCodeSession({
          CLAUDE_CODE_ENABLE_TELEMETRY: '1',
          OTEL_LOGS_EXPORTER: 'otlp',
          OTEL_METRICS_EXPORTER: 'otlp',
          OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
          OTEL_EXPORTER_OTLP_ENDPOINT: server.url,
          OTEL_LOGS_EXPORT_INTERVAL: '500',
          OTEL_METRIC_EXPORT_INTERVAL: '1000',
        }),
      );
    }
    // Claude Code sends no "session over" record: a session's last turn closes when the log's
    // event-time clock has moved past --turn-idle-timeout. Another agent's later event moves it.
    const tick = { v: 1, id: 'clock-tick', type: 'session.start', session: 'another-agent', time: new Date(Date.now() + 60_000).toISOString() };
    const r = await fetch(`${server.url}/v1/events`, { method: 'POST', body: JSON.stringify(tick), headers: { 'content-type': 'application/x-ndjson' } });
    assert.equal(r.status, 200, await r.text());
  });
  after(async () => {
    await server?.stop();
    for (const r of runs.values()) r.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const protocol of PROTOCOLS) {
    it(`${protocol}: the session's turns, tools, tokens and cost equal Claude Code's own usage and total_cost_usd`, async (t) => {
      if (clientUnavailable(t, unavailable)) return;
      const run = runs.get(protocol)!;
      const truth = claudeTotals(run.results);
      let s: SessionShow | undefined;
      await eventually(`both turns of ${run.session} closed in the OTLP store`, () => {
        s = sessionShow(otlpStore, run.session);
        return s.totals.turns === 2 && s.totals.outputTokens === truth.outputTokens;
      });
      assert.deepEqual(
        s!.turns.map((x) => x.toolNames),
        [['Bash', 'Read'], []],
      );
      const { inputTokens, outputTokens, cacheReadTokens, cacheWriteTokens, toolCalls, errors } = s!.totals;
      assert.deepEqual(
        { inputTokens, outputTokens, cacheReadTokens, cacheWriteTokens, toolCalls, errors },
        {
          inputTokens: truth.inputTokens,
          outputTokens: truth.outputTokens,
          cacheReadTokens: truth.cacheReadTokens,
          cacheWriteTokens: truth.cacheWriteTokens,
          toolCalls: 2,
          errors: 0,
        },
      );
      assert.ok(Math.abs(s!.totals.cost - truth.cost) < 0.001, `OTLP cost ${s!.totals.cost} vs Claude Code's total_cost_usd ${truth.cost}`);
    });
  }

  it('import claude of the transcripts gives the same session totals as OTLP', (t) => {
    if (clientUnavailable(t, unavailable)) return;
    for (const run of runs.values()) {
      const imp = spawnSync(process.execPath, [bin, 'import', 'claude', run.projects, '--data-dir', importStore, '--json'], {
        encoding: 'utf8',
        env: { ...process.env, TURNSTREAM_DATA_DIR: '', TURNSTREAM_URL: '', TURNSTREAM_CONFIG: '' },
      });
      assert.equal(imp.status, 0, imp.stderr);
      const fromImport = sessionShow(importStore, run.session).totals;
      const fromOtlp = sessionShow(otlpStore, run.session).totals;
      const pick = (x: SessionShow['totals']) => [x.turns, x.toolCalls, x.inputTokens, x.outputTokens, x.cacheReadTokens, x.cacheWriteTokens];
      assert.deepEqual(pick(fromOtlp), pick(fromImport));
      assert.ok(Math.abs(fromOtlp.cost - fromImport.cost) < 0.001, `OTLP ${fromOtlp.cost} vs import ${fromImport.cost}`);
    }
  });
});
