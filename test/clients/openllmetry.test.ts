import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startScriptedOpenAIServer, type ScriptedOpenAIServer, type ScriptedReply } from '../helpers/scripted-openai-server.ts';
import { eventually, startTurnstreamProcess, type TurnstreamProcess } from '../helpers/turnstream-process.ts';
import { clientUnavailable } from './client-gate.ts';
import { sessionShow, type SessionShow } from './claude-code.ts';
import { OPENLLMETRY_REQUIREMENTS, pythonVenv } from './python-venv.ts';

const agentScript = fileURLToPath(new URL('./openllmetry_agent.py', import.meta.url));
const MODEL = 'gpt-4o-mini';
// gpt-4o-mini list prices, USD per million tokens (src/events/default-prices.json).
const PRICE = { input: 0.15, output: 0.6, cacheRead: 0.075 };
const SESSION = 'openllmetry-session-1';

/** What the agent's OpenAI client received per prompt (printed by openllmetry_agent.py). */
interface PromptTruth {
  readonly prompt_tokens: number;
  readonly cached_tokens: number;
  readonly completion_tokens: number;
  readonly llm_calls: number;
  readonly tool_names: readonly string[];
}

// Prompt 1: two tools in one step, then an answer; prompt 2: one tool, then an answer.
const SCRIPT: readonly ScriptedReply[] = [
  {
    toolCalls: [
      { id: 'call_w1', name: 'get_weather', arguments: '{"q":"SECRET-PY-TOOL-ARG-31d0 Paris"}' },
      { id: 'call_l1', name: 'lookup', arguments: '{"q":"SECRET-PY-TOOL-ARG-31d0 forecast"}' },
    ],
    usage: { promptTokens: 1500, cachedTokens: 1024, completionTokens: 42 },
  },
  { text: 'Sunny, and the lookup agrees.', usage: { promptTokens: 1700, cachedTokens: 1536, completionTokens: 18 } },
  {
    toolCalls: [{ id: 'call_l2', name: 'lookup', arguments: '{"q":"SECRET-PY-TOOL-ARG-31d0 more"}' }],
    usage: { promptTokens: 1800, cachedTokens: 1536, completionTokens: 20 },
  },
  { text: 'Found it.', usage: { promptTokens: 1900, cachedTokens: 1792, completionTokens: 7, reasoningTokens: 0 } },
];

// Issue 12: OpenLLMetry's OpenAI instrumentation (Python, from PyPI) exports `openai.chat` spans with
// GenAI usage; inside an application's `invoke_agent` / `execute_tool` spans they become the turns
// the OpenAI client itself saw.
describe('OpenLLMetry (Python) → OTLP traces → turnstream', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'turnstream-clients-openllmetry-'));
  let python: string | undefined;
  let unavailable: string | undefined;
  let server: TurnstreamProcess | undefined;
  let openai: ScriptedOpenAIServer | undefined;
  before(async () => {
    const venv = pythonVenv(OPENLLMETRY_REQUIREMENTS);
    if ('error' in venv) {
      unavailable = venv.error;
      return;
    }
    python = venv.python;
    openai = await startScriptedOpenAIServer(SCRIPT);
    server = await startTurnstreamProcess(['--data-dir', dataDir], { OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' });
  });
  after(async () => {
    await server?.stop();
    await openai?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('same turns, tokens (cache incl.), tool calls in order and cost as the OpenAI client received', async (t) => {
    if (clientUnavailable(t, unavailable)) return;
    const truth = JSON.parse(await runPython(python!, [agentScript, openai!.url, server!.url, SESSION, MODEL])) as PromptTruth[];
    assert.equal(openai!.served.length, SCRIPT.length, 'the agent asked for every scripted reply');
    assert.deepEqual(
      truth.map((x) => x.tool_names),
      [['get_weather', 'lookup'], ['lookup']],
    );
    let s: SessionShow | undefined;
    await eventually(`two closed turns of ${SESSION} in turnstream`, () => {
      s = sessionShow(dataDir, SESSION);
      return s.turns.length === truth.length && s.turns.every((x) => x.status === 'completed');
    });
    assert.deepEqual(
      s!.turns.map((x) => ({
        inputTokens: x.inputTokens,
        cacheReadTokens: x.cacheReadTokens,
        cacheWriteTokens: x.cacheWriteTokens,
        outputTokens: x.outputTokens,
        llmCallCount: x.llmCallCount,
        toolNames: x.toolNames,
      })),
      truth.map((x) => ({
        // OpenAI's prompt_tokens include the cached ones; turnstream's inputTokens exclude them
        inputTokens: x.prompt_tokens - x.cached_tokens,
        cacheReadTokens: x.cached_tokens,
        cacheWriteTokens: 0,
        outputTokens: x.completion_tokens,
        llmCallCount: x.llm_calls,
        toolNames: x.tool_names,
      })),
    );
    const cost = truth.reduce(
      (n, x) => n + ((x.prompt_tokens - x.cached_tokens) * PRICE.input + x.cached_tokens * PRICE.cacheRead + x.completion_tokens * PRICE.output) / 1e6,
      0,
    );
    assert.ok(Math.abs(s!.totals.cost - cost) < 1e-6, `cost ${s!.totals.cost}, priced from the client's usage ${cost}`);
  });

  it("the tools' arguments and results never reach turnstream's data dir", (t) => {
    if (clientUnavailable(t, unavailable)) return;
    const files = readdirSync(dataDir, { recursive: true, withFileTypes: true }).filter((f) => f.isFile());
    assert.ok(files.length > 0, 'the store wrote files');
    for (const f of files) {
      const bytes = readFileSync(join(f.parentPath, f.name));
      for (const secret of ['SECRET-PY-TOOL-ARG', 'SECRET-PY-TOOL-RESULT']) assert.equal(bytes.indexOf(secret), -1, `${secret} found in ${f.name}`);
    }
  });
});

function runPython(python: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, OTEL_SDK_DISABLED: '', PYTHONUNBUFFERED: '1' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out.trim().split('\n').pop() ?? '');
      else reject(new Error(`python agent exited ${code}: ${err.slice(-3000)}`));
    });
  });
}
