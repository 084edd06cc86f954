import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { it } from 'node:test';
import { createTelemetry } from '../../src/exporters/create-telemetry.ts';
import { createPipelineMetrics } from '../../src/exporters/pipeline-metrics.ts';
import type { TurnAggregate } from '../../src/model/turn-aggregate.ts';

// 400 turns (120 turn ids, so many revisions) over more providers, models, agents, tools and stop
// reasons than tight caps admit. The expected /metrics (every gen_ai_ and turnstream_ line, sorted)
// was written by the implementation before label combinations were cached (commit 19a096c): the
// cache must not change a value, a series or a folded-recording count.
interface Call {
  eventId: string;
  provider: string;
  model: string;
  startMs: number;
  endMs: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
  cost: number;
}

it('metrics of turns under tight label caps: every series and folded count as before the label cache', async () => {
  let a = 7;
  const rnd = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const t = await createTelemetry({ version: 'x', env: {}, maxLabelValues: 3, maxLabelSets: 5, maxHistogramLabelSets: 3 });
  const m = createPipelineMetrics(t.meter, t.labelCaps, t.histograms);
  const providers = ['anthropic', 'openai', 'google', 'other', 'mistral'];
  const models = ['m1', 'm2', 'm3', 'm4', 'm5', 'other'];
  const agents = ['kit', 'claude', 'aider', 'other', 'zed'];
  const tools = ['bash', 'read', 'edit', 'grep', 'web', 'other', 'glob'];
  const prev = new Map<string, TurnAggregate>();
  for (let i = 0; i < 400; i++) {
    const turn = `t${Math.floor(rnd() * 120)}`;
    const before = prev.get(turn);
    const agent = before?.agent ?? pick(agents);
    // The fields recordTurn reads (a call's cost source, a tool's times: not read).
    const llm = [...((before?.llm ?? []) as unknown as Call[])];
    const tl = [...((before?.tools ?? []) as unknown as { toolCallId: string; toolName: string; error?: string }[])];
    for (let k = Math.floor(rnd() * 3); k > 0; k--) {
      const s = Math.floor(rnd() * 1000);
      llm.push({
        eventId: `e${i}-${k}`,
        provider: pick(providers),
        model: pick(models),
        startMs: s,
        endMs: s + Math.floor(rnd() * 3) * 500,
        inputTokens: Math.floor(rnd() * 1000),
        outputTokens: Math.floor(rnd() * 100),
        cacheReadTokens: Math.floor(rnd() * 50),
        cacheWriteTokens: 0,
        reasoningTokens: 0,
        cost: rnd(),
      });
    }
    for (let k = Math.floor(rnd() * 3); k > 0; k--) tl.push({ toolCallId: `c${i}-${k}`, toolName: pick(tools), ...(rnd() < 0.2 ? { error: 'boom' } : {}) });
    const byModel = new Map<string, Call>();
    for (const c of llm) {
      const key = `${c.provider}\0${c.model}`;
      const e: Call = byModel.get(key) ?? {
        eventId: '',
        startMs: 0,
        endMs: 0,
        provider: c.provider,
        model: c.model,
        cost: 0,
        inputTokens: 0,
        outputTokens: 0,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
        reasoningTokens: 0,
      };
      e.cost += c.cost;
      e.inputTokens += c.inputTokens;
      e.outputTokens += c.outputTokens;
      e.cacheReadTokens += c.cacheReadTokens;
      byModel.set(key, e);
    }
    const agg = {
      agent,
      llm,
      tools: tl,
      models: [...byModel.values()],
      revision: before === undefined ? 0 : before.revision + 1,
      status: pick(['completed', 'abandoned']),
      stopReason: pick(['end_turn', 'tool_use', undefined, 'max_tokens', 'weird']),
      durationMs: Math.floor(rnd() * 9000),
      toolCalls: tl.length,
      llmCalls: llm.length,
      ...(before === undefined ? {} : { supersedes: before }),
    } as unknown as TurnAggregate;
    prev.set(turn, agg);
    m.recordTurn(agg);
    if (i % 17 === 16) m.flush();
  }
  m.flush();
  const server = createServer(t.prometheus).listen(0);
  await new Promise((r) => server.once('listening', r));
  const text = await (await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`)).text();
  server.close();
  await t.shutdown();
  const lines = text
    .split('\n')
    .filter((l) => l.startsWith('gen_ai') || l.startsWith('turnstream'))
    .sort();
  const expected = readFileSync(new URL('../fixtures/metrics/capped-turns.prom', import.meta.url), 'utf8')
    .trimEnd()
    .split('\n');
  assert.ok(
    expected.some((l) => /label_values_folded_total.* [1-9]/.test(l)),
    'the scenario folds values',
  );
  assert.deepEqual(lines, expected);
});
