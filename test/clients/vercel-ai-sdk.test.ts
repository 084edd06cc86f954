import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually, startTurnstreamProcess, type TurnstreamProcess } from '../helpers/turnstream-process.ts';
import { clientUnavailable } from './client-gate.ts';
import { sessionShow, type SessionShow } from './claude-code.ts';

type Agent = typeof import('./vercel-ai-agent.ts');

// Claude Sonnet 4.5 list prices, USD per million tokens (src/events/default-prices.json); the AI SDK
// reports no 5m / 1h split, so writes are priced at the 5-minute rate.
const PRICE = { input: 3, output: 15, cacheRead: 0.3, cacheWrite5m: 3.75 };

// Issue 12: the Vercel AI SDK's own spans, exported by the OpenTelemetry JS SDK's OTLP exporter to
// turnstream's /v1/traces, become the same turns the SDK reported: one per generateText call.
describe('Vercel AI SDK → OTLP traces → turnstream', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'turnstream-clients-vercel-'));
  let agent: Agent | undefined;
  let unavailable: string | undefined;
  let server: TurnstreamProcess | undefined;
  before(async () => {
    try {
      agent = await import('./vercel-ai-agent.ts');
    } catch (error) {
      unavailable = `the AI SDK or the OpenTelemetry JS SDK cannot be loaded (npm ci): ${String(error)}`;
      return;
    }
    server = await startTurnstreamProcess(['--data-dir', dataDir], { OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' });
  });
  after(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  for (const protocol of ['protobuf', 'json'] as const) {
    it(`${protocol}: one turn per generateText call, tokens incl. cache, tool calls in order, session from the metadata`, async (t) => {
      if (clientUnavailable(t, unavailable)) return;
      const sessionId = `vercel-${protocol}-session`;
      const truth = await agent!.runVercelAgent({ url: server!.url, protocol, sessionId, model: 'claude-sonnet-4-5', provider: 'anthropic.messages' });
      let s: SessionShow | undefined;
      await eventually(`two closed turns of ${sessionId} in turnstream`, () => {
        s = sessionShow(dataDir, sessionId);
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
          // turnstream's inputTokens exclude cache (the Anthropic convention); the SDK's include it
          inputTokens: x.noCacheTokens,
          cacheReadTokens: x.cacheReadTokens,
          cacheWriteTokens: x.cacheWriteTokens,
          outputTokens: x.outputTokens,
          llmCallCount: x.llmCalls,
          toolNames: x.toolNames,
        })),
      );
      assert.deepEqual(truth[0]!.toolNames, ['weather', 'lookup', 'lookup'], 'the script ran as written');
      assert.equal(truth[0]!.inputTokens, truth[0]!.noCacheTokens + truth[0]!.cacheReadTokens + truth[0]!.cacheWriteTokens);
      const cost = truth.reduce(
        (n, x) =>
          n +
          (x.noCacheTokens * PRICE.input + x.outputTokens * PRICE.output + x.cacheReadTokens * PRICE.cacheRead + x.cacheWriteTokens * PRICE.cacheWrite5m) / 1e6,
        0,
      );
      assert.ok(Math.abs(s!.totals.cost - cost) < 1e-6, `cost ${s!.totals.cost}, priced from the SDK's tokens ${cost}`);
    });
  }

  it("the tools' arguments and results never reach turnstream's data dir or its log", (t) => {
    if (clientUnavailable(t, unavailable)) return;
    const files = readdirSync(dataDir, { recursive: true, withFileTypes: true }).filter((f) => f.isFile());
    assert.ok(files.length > 0, 'the store wrote files');
    for (const f of files) {
      const bytes = readFileSync(join(f.parentPath, f.name));
      for (const secret of [agent!.SECRET_ARG, agent!.SECRET_RESULT]) assert.equal(bytes.indexOf(secret), -1, `${secret} found in ${f.name}`);
    }
    assert.ok(!server!.stderr().includes('SECRET-TOOL'), 'nor turnstream’s own log');
  });
});
