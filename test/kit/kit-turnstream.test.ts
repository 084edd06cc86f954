import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../helpers/free-port.ts';
import { type ScriptedReply, startScriptedOpenAIServer } from '../helpers/scripted-openai-server.ts';
import { eventually, startTurnstreamProcess, type TurnstreamProcess } from '../helpers/turnstream-process.ts';
import { captureExtension, type KitRun, kitBinOrReason, kitUnavailable, root, runKit, turnstreamExtension } from './kit-process.ts';

/**
 * kit, the real binary built from ../shared/vendor/kit, runs headless against a scripted
 * OpenAI-compatible model with integrations/kit/turnstream.go loaded, and a real `turnstream
 * start` receives what it sends. Ground truth: what the scripted server returned (usage with
 * cached tokens, the tools it asked for), and kit's own AgentEndEvent and LLMUsageEvents, written
 * to a file by the test-only extension integrations/kit/testdata/capture.go.
 */

/** One turn: three LLM calls that each ask for one tool (the second fails), then an answer. */
function script(delays: Partial<Record<number, number>> = {}): ScriptedReply[] {
  const replies: ScriptedReply[] = [
    {
      text: 'Looking around.',
      toolCalls: [{ id: 'call_ls_1', name: 'ls', arguments: '{"path":"."}' }],
      usage: { promptTokens: 1001, completionTokens: 25, cachedTokens: 400 },
    },
    {
      toolCalls: [{ id: 'call_read_1', name: 'read', arguments: '{"path":"missing.txt"}' }],
      usage: { promptTokens: 1500, completionTokens: 40, cachedTokens: 1000 },
    },
    { toolCalls: [{ id: 'call_ls_2', name: 'ls', arguments: '{}' }], usage: { promptTokens: 1700, completionTokens: 30, cachedTokens: 1024 } },
    { text: 'All done: the folder holds hello.txt.', usage: { promptTokens: 1800, completionTokens: 12, cachedTokens: 1200 } },
  ];
  return replies.map((r, i) => (delays[i] === undefined ? r : { ...r, delayMs: delays[i] }));
}
const finalText = 'All done: the folder holds hello.txt.';

/** Session totals as the scripted server reported them, in turnstream's convention (input excludes cache reads). */
function expectedTotals(served: readonly ScriptedReply[]): Record<string, number> {
  const sum = (f: (r: ScriptedReply) => number): number => served.reduce((s, r) => s + f(r), 0);
  return {
    turns: 1,
    llmCalls: served.length,
    toolCalls: sum((r) => r.toolCalls?.length ?? 0),
    inputTokens: sum((r) => r.usage.promptTokens - (r.usage.cachedTokens ?? 0)),
    outputTokens: sum((r) => r.usage.completionTokens),
    cacheReadTokens: sum((r) => r.usage.cachedTokens ?? 0),
    cacheWriteTokens: 0,
    errors: 1,
    cost: 0, // custom/custom has no price, in kit or in turnstream's table
  };
}

interface AgentEnd {
  StopReason: string;
  ToolCallCount: number;
  ToolNames: string[];
  LLMCallCount: number;
  InputTokensDelta: number;
  OutputTokensDelta: number;
  CacheReadTokensDelta: number;
  CacheWriteTokensDelta: number;
  CostDelta: number;
  DurationMs: number;
}

interface Shown {
  totals: Record<string, number>;
  turns: { status: string; stopReason: string; toolNames: string[]; toolCallCount: number; llmCallCount: number; durationMs: number; [k: string]: unknown }[];
  state: Record<string, unknown>;
}

function cli(dataDir: string, args: string[]): unknown {
  const r = spawnSync(process.execPath, [join(root, 'bin/turnstream.js'), ...args, '--data-dir', dataDir, '--json'], {
    encoding: 'utf8',
    env: { ...process.env, TURNSTREAM_DATA_DIR: '', TURNSTREAM_URL: '', TURNSTREAM_CONFIG: '' },
  });
  if (r.status !== 0) throw new Error(`turnstream ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** The one session in the store, once its session.end has been processed. */
async function theSession(dataDir: string): Promise<Shown> {
  let shown: Shown | undefined;
  await eventually('the kit session, closed, in turnstream', () => {
    const list = cli(dataDir, ['sessions', 'list']) as { session: string }[];
    if (list.length !== 1) return false;
    shown = cli(dataDir, ['sessions', 'show', list[0]!.session]) as Shown;
    return shown.turns.length === 1 && shown.turns[0]!.status === 'completed' && shown.totals['llmCalls'] === 4;
  });
  return shown!;
}

function captured(file: string): { agentEnd: AgentEnd; usages: unknown[] } {
  const lines = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { kind: string; event: unknown });
  const ends = lines.filter((l) => l.kind === 'agent_end');
  assert.equal(ends.length, 1, 'kit ran one turn');
  return { agentEnd: ends[0]!.event as AgentEnd, usages: lines.filter((l) => l.kind === 'usage').map((l) => l.event) };
}

/** turnstream's turn aggregate against kit's own AgentEndEvent, field by field. */
function assertTurnEqualsKit(turn: Shown['turns'][number], kit: AgentEnd): void {
  assert.deepEqual(
    {
      stopReason: turn.stopReason,
      toolCallCount: turn.toolCallCount,
      toolNames: turn.toolNames,
      llmCallCount: turn.llmCallCount,
      inputTokens: turn['inputTokens'],
      outputTokens: turn['outputTokens'],
      cacheReadTokens: turn['cacheReadTokens'],
      cacheWriteTokens: turn['cacheWriteTokens'],
      cost: turn['cost'],
    },
    {
      stopReason: kit.StopReason,
      toolCallCount: kit.ToolCallCount,
      toolNames: kit.ToolNames,
      llmCallCount: kit.LLMCallCount,
      inputTokens: kit.InputTokensDelta,
      outputTokens: kit.OutputTokensDelta,
      cacheReadTokens: kit.CacheReadTokensDelta,
      cacheWriteTokens: kit.CacheWriteTokensDelta,
      cost: kit.CostDelta,
    },
  );
  // kit times TurnStart→TurnEnd; the extension stamps turn.start/turn.end in the handlers kit calls right then.
  assert.ok(Math.abs(turn.durationMs - kit.DurationMs) <= 250, `turn duration ${turn.durationMs} ms, kit's ${kit.DurationMs} ms`);
}

describe('kit with the turnstream extension, against a real turnstream', { timeout: 900_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'turnstream-kit-'));
  const cwd = join(dir, 'work');
  mkdirSync(cwd);
  writeFileSync(join(cwd, 'hello.txt'), 'hi\n');
  let kit: { bin?: string; reason?: string } = {};
  let baseline: KitRun | undefined;
  const running: TurnstreamProcess[] = [];
  after(async () => {
    for (const p of running) await p.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** kit with the capture extension (and turnstream.go when `turnstreamUrl` is given), against a fresh scripted server. */
  async function kitRun(
    name: string,
    turnstreamUrl: string | undefined,
    env: Record<string, string> = {},
    delays: Partial<Record<number, number>> = {},
    more: { replies?: ScriptedReply[]; args?: string[]; home?: string } = {},
  ) {
    const model = await startScriptedOpenAIServer(more.replies ?? script(delays));
    const capture = join(dir, `${name}.capture.ndjson`);
    const run = runKit({
      bin: kit.bin!,
      providerUrl: model.url,
      extensions: turnstreamUrl === undefined ? [captureExtension] : [turnstreamExtension, captureExtension],
      prompt: 'What is in this folder?',
      home: more.home ?? join(dir, `${name}.home`),
      cwd,
      ...(more.args === undefined ? {} : { args: more.args }),
      env: {
        KIT_CAPTURE_FILE: capture,
        TURNSTREAM_DEBUG_LOG: join(dir, `${name}.debug.log`),
        ...(turnstreamUrl === undefined ? {} : { TURNSTREAM_URL: turnstreamUrl }),
        ...env,
      },
    }).finally(() => model.close());
    return { model, capture, run };
  }

  before(async () => {
    kit = kitBinOrReason(); // builds kit when the global setup did not (minutes, once)
    if (kit.bin === undefined) return;
    const b = await kitRun('baseline', undefined);
    baseline = await b.run;
  });

  it('kit alone answers the script (the baseline the other runs compare with)', (t) => {
    if (kitUnavailable(t, kit.reason)) return;
    assert.equal(baseline?.code, 0, baseline?.stderr);
    assert.ok(baseline?.stdout.includes(finalText), baseline?.stdout);
  });

  it('session totals and tool names equal what the model returned; the turn equals kit’s own AgentEndEvent; state is mirrored', async (t) => {
    if (kitUnavailable(t, kit.reason)) return;
    const dataDir = join(dir, 'live');
    const ts = await startTurnstreamProcess(['--data-dir', dataDir]);
    running.push(ts);
    const { model, capture, run } = await kitRun('live', ts.url);
    const result = await run;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, baseline!.stdout, 'the extension changes nothing kit prints');

    const shown = await theSession(dataDir);
    assert.deepEqual(Object.fromEntries(Object.keys(expectedTotals(model.served)).map((k) => [k, shown.totals[k]])), expectedTotals(model.served));
    const asked = model.served.flatMap((r) => (r.toolCalls ?? []).map((c) => c.name));
    assert.deepEqual(shown.turns[0]!.toolNames, asked);
    const { agentEnd, usages } = captured(capture);
    assert.equal(usages.length, model.served.length);
    assertTurnEqualsKit(shown.turns[0]!, agentEnd);
    assert.deepEqual(shown.state, { 'capture:llm-calls': '4', 'capture:last-stop': agentEnd.StopReason }, 'set, overwritten and deleted keys as kit left them');
    const dead = cli(dataDir, ['dead-letters']) as { letters: unknown[] };
    assert.deepEqual(dead.letters, [], 'nothing rejected, no duplicate');
  });

  it('kit --continue adds a second turn to the same session, with its own tool names; ids never collide', async (t) => {
    if (kitUnavailable(t, kit.reason)) return;
    const dataDir = join(dir, 'resumed');
    const ts = await startTurnstreamProcess(['--data-dir', dataDir]);
    running.push(ts);
    const home = join(dir, 'resumed.home'); // kit keeps its session files there
    const one = await kitRun('resumed-1', ts.url, {}, {}, { args: [], home });
    assert.equal((await one.run).code, 0);
    const again: ScriptedReply[] = [
      {
        toolCalls: [{ id: 'call_read_2', name: 'read', arguments: '{"path":"hello.txt"}' }],
        usage: { promptTokens: 2600, completionTokens: 18, cachedTokens: 2048 },
      },
      { text: 'It says hi.', usage: { promptTokens: 2700, completionTokens: 6, cachedTokens: 2560 } },
    ];
    const two = await kitRun('resumed-2', ts.url, {}, {}, { args: ['--continue'], home, replies: again });
    const second = await two.run;
    assert.equal(second.code, 0, second.stderr);
    assert.ok(second.stdout.includes('It says hi.'));

    let shown: Shown | undefined;
    await eventually('both turns in one session', () => {
      const list = cli(dataDir, ['sessions', 'list']) as { session: string }[];
      if (list.length !== 1) return false;
      shown = cli(dataDir, ['sessions', 'show', list[0]!.session]) as Shown;
      return shown.turns.length === 2 && shown.turns.every((x) => x.status === 'completed') && shown.totals['llmCalls'] === 6;
    });
    const served = [...one.model.served, ...two.model.served];
    const expected = expectedTotals(served);
    assert.deepEqual(Object.fromEntries(Object.keys(expected).map((k) => [k, shown!.totals[k]])), { ...expected, turns: 2 });
    assert.deepEqual(
      shown!.turns.map((x) => x.toolNames),
      [one.model.served, two.model.served].map((s) => s.flatMap((r) => (r.toolCalls ?? []).map((c) => c.name))),
    );
    assertTurnEqualsKit(shown!.turns[0]!, captured(one.capture).agentEnd);
    assertTurnEqualsKit(shown!.turns[1]!, captured(two.capture).agentEnd);
    assert.deepEqual((cli(dataDir, ['dead-letters']) as { letters: unknown[] }).letters, [], 'no id of the first run reused by the second');
  });

  it('budgets the turnstream way (examples/kit-budgets.json): the session soft limit fires once, to the webhook', async (t) => {
    if (kitUnavailable(t, kit.reason)) return;
    const alerts: Record<string, unknown>[] = [];
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        alerts.push(JSON.parse(body) as Record<string, unknown>);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((ok) => hook.listen(0, '127.0.0.1', () => ok()));
    // kit knows no price for custom/custom (its cost is 0): turnstream prices the calls from its own table.
    const prices = join(dir, 'kit-prices.json');
    writeFileSync(prices, JSON.stringify({ custom: { custom: { input: 300, output: 300, cacheRead: 30, cacheWrite5m: 300, cacheWrite1h: 300 } } }));
    const dataDir = join(dir, 'budgets');
    const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
    const ts = await startTurnstreamProcess([
      '--data-dir',
      dataDir,
      '--budgets',
      join(root, 'examples/kit-budgets.json'),
      '--prices',
      prices,
      '--alert-webhook',
      hookUrl,
    ]);
    running.push(ts);
    try {
      const { model, run } = await kitRun('budgets', ts.url);
      assert.equal((await run).code, 0);
      const shown = await theSession(dataDir);
      const perCall = model.served.map(
        (r) => ((r.usage.promptTokens - r.usage.cachedTokens!) * 300 + r.usage.completionTokens * 300 + r.usage.cachedTokens! * 30) / 1e6,
      );
      const total = perCall.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(shown.totals['cost']! - total) < 1e-9, `cost ${shown.totals['cost']} vs ${total}`);
      assert.ok(total > 0.5 && total < 2, 'the script crosses the soft limit only');
      await eventually('the soft alert delivered', () => alerts.length >= 1, 30_000);
      await new Promise((r) => setTimeout(r, 500)); // and nothing else comes
      assert.deepEqual(
        alerts.map((a) => [a['rule'], a['scope'], a['level'], a['status']]),
        [['kit-session', 'session', 'soft', 'firing']],
      );
    } finally {
      await new Promise((ok) => hook.close(ok));
    }
  });

  it('turnstream away for the whole run: kit exits 0 with unchanged output, waiting at most TURNSTREAM_SHUTDOWN_WAIT', async (t) => {
    if (kitUnavailable(t, kit.reason)) return;
    const nobody = `http://127.0.0.1:${await freePort()}`;
    const { run } = await kitRun('away', nobody, { TURNSTREAM_SHUTDOWN_WAIT: '1s' });
    const result = await run;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, baseline!.stdout);
    assert.ok(result.ms < baseline!.ms + 1000 + 5000, `kit took ${result.ms} ms, alone ${baseline!.ms} ms`);
    assert.match(readFileSync(join(dir, 'away.debug.log'), 'utf8'), /not delivered within 1s/);
  });

  it('turnstream stops mid-run and comes back: what kit did meanwhile arrives, counted once', async (t) => {
    if (kitUnavailable(t, kit.reason)) return;
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const dataDir = join(dir, 'flaky');
    const up = () => startTurnstreamProcess(['--port', String(port), '--data-dir', dataDir]); // the last --port wins
    const first = await up();
    running.push(first);
    // The 2nd and 4th model calls are slow: turnstream goes down during the 2nd, back during the 4th.
    const { model, capture, run } = await kitRun('flaky', url, { TURNSTREAM_SHUTDOWN_WAIT: '20s' }, { 1: 3000, 3: 3000 });
    await eventually('the first call made', () => model.requests.length >= 2);
    // (The helper's own url names the port it picked; the last --port given is the one listened on.)
    await eventually('its events in turnstream', async () => Number(((await (await fetch(`${url}/healthz`)).json()) as Record<string, unknown>)['head']) >= 6);
    assert.equal(await first.stop(), 0);
    await eventually('the last call made while turnstream is down', () => model.requests.length >= 4);
    const second = await up();
    running.push(second);
    const result = await run;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, baseline!.stdout);

    const shown = await theSession(dataDir);
    assert.deepEqual(Object.fromEntries(Object.keys(expectedTotals(model.served)).map((k) => [k, shown.totals[k]])), expectedTotals(model.served));
    assertTurnEqualsKit(shown.turns[0]!, captured(capture).agentEnd);
    assert.match(readFileSync(join(dir, 'flaky.debug.log'), 'utf8'), /send of \d+ events failed/, 'some sends failed while turnstream was down');
  });
});
