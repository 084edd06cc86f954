import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { StepEvent } from '../../src/events/step-event.ts';
import { type SpanSpec, spanId, T0, traceId, traceRequest } from './otlp-payloads.ts';
import { ENCODINGS, type Encoding, type OtlpTestServer, postOtlp, startOtlpServer } from './otlp-test-server.ts';

const SECRET = 'SECRET-CONTENT';
const at = (s: number): number => T0 + s * 1000;

/** An agent instrumented with the GenAI semantic conventions; the agent span carries its calls' total too. */
function genAiAgent(tag: string): { children: SpanSpec[]; rest: SpanSpec[] } {
  const trace = tag;
  const chat = (id: string, start: number, usage: Record<string, number>, finish: string): SpanSpec => ({
    trace,
    id,
    parent: 'agent',
    name: 'chat claude-sonnet-4-5',
    start: at(start),
    end: at(start + 2),
    attrs: {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'anthropic',
      'gen_ai.request.model': 'claude-sonnet-4-5',
      'gen_ai.response.finish_reasons': [finish],
      'gen_ai.input.messages': SECRET,
      'gen_ai.output.messages': SECRET,
      ...usage,
    },
  });
  return {
    children: [
      chat(
        'chat1',
        1,
        {
          'gen_ai.usage.input_tokens': 1500,
          'gen_ai.usage.cache_read.input_tokens': 1000,
          'gen_ai.usage.cache_creation.input_tokens': 200,
          'gen_ai.usage.output_tokens': 100,
        },
        'tool_use',
      ),
      {
        trace,
        id: 'tool1',
        parent: 'agent',
        name: 'execute_tool search',
        start: at(3),
        end: at(4),
        error: true,
        attrs: {
          'gen_ai.operation.name': 'execute_tool',
          'gen_ai.tool.name': 'search',
          'gen_ai.tool.call.id': 'call-1',
          'gen_ai.tool.call.arguments': SECRET,
          'gen_ai.tool.call.result': SECRET,
        },
      },
      {
        trace,
        id: 'http1',
        parent: 'chat1',
        name: 'POST',
        start: at(1),
        end: at(2),
        attrs: { 'http.request.method': 'POST', 'url.full': `https://x/${SECRET}` },
      },
    ],
    rest: [
      chat('chat2', 5, { 'gen_ai.usage.input_tokens': 1500, 'gen_ai.usage.cache_read.input_tokens': 1400, 'gen_ai.usage.output_tokens': 200 }, 'end_turn'),
      {
        trace,
        id: 'agent',
        name: 'invoke_agent planner',
        start: at(0),
        end: at(10),
        attrs: {
          'gen_ai.operation.name': 'invoke_agent',
          'gen_ai.agent.name': 'planner',
          'gen_ai.conversation.id': `conv-${tag}`,
          'gen_ai.usage.input_tokens': 3000,
          'gen_ai.usage.output_tokens': 300,
        },
      },
    ],
  };
}

/** A Vercel AI SDK `generateText` with two model calls and a tool call; root and children both carry usage. */
function aiSdk(tag: string): SpanSpec[] {
  const model = {
    'ai.model.provider': 'anthropic.messages',
    'ai.model.id': 'claude-sonnet-4-5',
    'ai.telemetry.metadata.sessionId': `vs-${tag}`,
    'ai.telemetry.functionId': 'chat-fn',
  };
  const call = (id: string, start: number, usage: Record<string, number>, finish: string): SpanSpec => ({
    trace: tag,
    id,
    parent: 'root',
    name: 'ai.generateText.doGenerate',
    start: at(start),
    end: at(start + 1),
    attrs: {
      'ai.operationId': 'ai.generateText.doGenerate',
      'gen_ai.system': 'anthropic.messages',
      'ai.response.model': 'claude-sonnet-4-5-20250929',
      'ai.response.finishReason': finish,
      'ai.prompt.messages': SECRET,
      'ai.response.text': SECRET,
      ...model,
      ...usage,
    },
  });
  return [
    call(
      'gen1',
      1,
      {
        'ai.usage.inputTokens': 300,
        'ai.usage.inputTokenDetails.noCacheTokens': 100,
        'ai.usage.inputTokenDetails.cacheReadTokens': 200,
        'ai.usage.outputTokens': 30,
      },
      'tool-calls',
    ),
    {
      trace: tag,
      id: 'tc1',
      parent: 'root',
      name: 'ai.toolCall',
      start: at(2),
      end: at(3),
      attrs: {
        'ai.operationId': 'ai.toolCall',
        'ai.toolCall.name': 'weather',
        'ai.toolCall.id': 'tc-1',
        'ai.toolCall.args': SECRET,
        'ai.toolCall.result': SECRET,
        ...model,
      },
    },
    call('gen2', 3, { 'ai.usage.inputTokens': 400, 'ai.usage.inputTokenDetails.noCacheTokens': 400, 'ai.usage.outputTokens': 40 }, 'stop'),
    {
      trace: tag,
      id: 'root',
      name: 'ai.generateText',
      start: at(0),
      end: at(5),
      attrs: {
        'ai.operationId': 'ai.generateText',
        'ai.usage.inputTokens': 700,
        'ai.usage.outputTokens': 70,
        'ai.prompt': SECRET,
        'ai.response.finishReason': 'stop',
        ...model,
      },
    },
  ];
}

/** OpenLLMetry's OpenAI instrumentation: one `openai.chat` span per call, its own trace. */
const openLlmetry = (tag: string, extra: Record<string, string> = {}): SpanSpec => ({
  trace: tag,
  id: 'chat',
  name: 'openai.chat',
  start: at(0),
  end: at(1),
  attrs: {
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': 'openai',
    'gen_ai.request.model': 'gpt-4o-mini',
    'gen_ai.usage.input_tokens': 1000,
    'gen_ai.usage.cache_read.input_tokens': 400,
    'gen_ai.usage.output_tokens': 50,
    'llm.request.type': 'chat',
    'gen_ai.prompt.0.content': SECRET,
    ...extra,
  },
});

const kinds = (events: StepEvent[]): string[] => events.map((e) => e.type);
const sum = (events: StepEvent[], f: 'inputTokens' | 'outputTokens' | 'cacheReadTokens' | 'cacheWriteTokens'): number =>
  events.reduce((n, e) => n + (e.type === 'llm.usage' ? (e[f] ?? 0) : 0), 0);

describe('OTLP traces: GenAI, AI SDK and OpenLLMetry spans → step events', () => {
  let ts: OtlpTestServer;
  before(async () => {
    ts = await startOtlpServer();
  });
  after(() => ts.stop());
  const ofSession = async (session: string): Promise<StepEvent[]> => (await ts.events()).filter((e) => e.session === session);

  for (const encoding of ENCODINGS) {
    it(`maps a GenAI agent whose spans arrive children first, across requests (${encoding})`, async () => {
      const tag = `g-${encoding}`;
      const { children, rest } = genAiAgent(tag);
      const first = await postOtlp(ts.url, 'traces', traceRequest(children), encoding);
      assert.equal(first.status, 200);
      const partial = first.body['partialSuccess'] as { rejectedSpans: number | string; errorMessage: string };
      assert.equal(Number(partial.rejectedSpans), 1, 'the HTTP span carries no GenAI attribute');
      assert.match(partial.errorMessage, /no GenAI attributes/);
      const second = await postOtlp(ts.url, 'traces', traceRequest(rest), encoding);
      assert.deepEqual(second.body, {});
      assert.deepEqual(await ofSession(`conv-${tag}`), [], 'spans wait in the buffer until their trace is complete');
      await ts.settle();
      const events = await ofSession(`conv-${tag}`);
      assert.deepEqual(kinds(events), ['turn.start', 'llm.usage', 'tool.start', 'tool.end', 'llm.usage', 'turn.end']);
      const turn = `${traceId(tag)}:${spanId('agent')}`;
      assert.ok(events.every((e) => 'turn' in e && e.turn === turn));
      assert.deepEqual(
        [sum(events, 'inputTokens'), sum(events, 'cacheReadTokens'), sum(events, 'cacheWriteTokens'), sum(events, 'outputTokens')],
        [300 + 100, 1000 + 1400, 200, 300],
        'input excludes cache tokens; the agent span total is not counted again',
      );
      const toolEnd = events.find((e) => e.type === 'tool.end');
      assert.deepEqual(toolEnd?.type === 'tool.end' && [toolEnd.toolName, toolEnd.toolCallId, toolEnd.error, toolEnd.durationMs], [
        'search',
        'call-1',
        true,
        1000,
      ]);
      const [agg] = await ts.pipeline.store.state.turns(`conv-${tag}`);
      assert.deepEqual(
        [agg?.status, agg?.agent, agg?.llmCalls, agg?.toolCalls, agg?.errors, agg?.stopReason, agg?.durationMs],
        ['completed', 'planner', 2, 1, 1, undefined, 10_000],
      );
    });

    it(`maps an AI SDK generateText and counts the usage of its calls once (${encoding})`, async () => {
      const tag = `v-${encoding}`;
      const r = await postOtlp(ts.url, 'traces', traceRequest(aiSdk(tag)), encoding);
      assert.deepEqual([r.status, r.body], [200, {}]);
      await ts.settle();
      const events = await ofSession(`vs-${tag}`);
      assert.deepEqual(kinds(events), ['turn.start', 'llm.usage', 'tool.start', 'tool.end', 'llm.usage', 'turn.end']);
      assert.deepEqual([sum(events, 'inputTokens'), sum(events, 'cacheReadTokens'), sum(events, 'outputTokens')], [500, 200, 70]);
      const calls = events.filter((e) => e.type === 'llm.usage');
      assert.deepEqual(
        calls.map((e) => e.type === 'llm.usage' && [e.provider, e.model, e.finishReason]),
        [
          ['anthropic', 'claude-sonnet-4-5-20250929', 'tool-calls'],
          ['anthropic', 'claude-sonnet-4-5-20250929', 'stop'],
        ],
      );
      const [agg] = await ts.pipeline.store.state.turns(`vs-${tag}`);
      assert.deepEqual([agg?.agent, agg?.toolNames, agg?.stopReason, agg?.llmCalls], ['chat-fn', ['weather'], 'stop', 2]);
      assert.ok((agg?.cost ?? 0) > 0, 'priced from the table: the telemetry carries no cost');
    });

    it(`maps a bare OpenLLMetry chat span to a turn of its trace (${encoding})`, async () => {
      const r = await postOtlp(
        ts.url,
        'traces',
        traceRequest([openLlmetry(`o-${encoding}`), openLlmetry(`os-${encoding}`, { 'traceloop.association.properties.session_id': `ol-${encoding}` })]),
        encoding,
      );
      assert.deepEqual([r.status, r.body], [200, {}]);
      await ts.settle();
      const bare = await ofSession(traceId(`o-${encoding}`));
      assert.deepEqual(kinds(bare), ['turn.start', 'llm.usage', 'turn.end'], 'no session attribute: the trace is the session and the turn');
      assert.deepEqual([sum(bare, 'inputTokens'), sum(bare, 'cacheReadTokens'), sum(bare, 'outputTokens')], [600, 400, 50]);
      assert.equal(bare[0]?.type === 'turn.start' && bare[0].turn, traceId(`o-${encoding}`));
      assert.deepEqual(kinds(await ofSession(`ol-${encoding}`)), ['turn.start', 'llm.usage', 'turn.end']);
    });
  }

  it('gives the same events for protobuf and JSON', async () => {
    const all = await ts.events();
    const shape = (encoding: Encoding): string[] =>
      all
        .filter((e) => e.id.includes(traceId(`g-${encoding}`)) || e.id.includes(traceId(`v-${encoding}`)))
        .map((e) => JSON.stringify({ ...e, id: 0, session: 0, turn: 0 }));
    assert.equal(shape('json').length, 12);
    assert.deepEqual(shape('protobuf'), shape('json'));
  });

  it('never copies prompts, messages, tool arguments or results into events', async () => {
    const all = await ts.events();
    assert.ok(all.length >= 30);
    assert.ok(!JSON.stringify(all).includes('SECRET'));
  });

  it('maps a resent trace to nothing new (exporter retry)', async () => {
    const before = await ts.pipeline.store.log.head();
    const r = await postOtlp(ts.url, 'traces', traceRequest(aiSdk('v-json')), 'json');
    assert.deepEqual([r.status, r.body], [200, {}]);
    await ts.settle();
    assert.equal(await ts.pipeline.store.log.head(), before);
  });

  it('rejects LLM spans without usage and spans of other programs in partial_success', async () => {
    const noUsage: SpanSpec = {
      trace: 'nu',
      id: 'c',
      name: 'chat',
      start: at(0),
      end: at(1),
      attrs: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o' },
    };
    const web: SpanSpec = { trace: 'web', id: 'w', name: 'GET /', start: at(0), end: at(1), attrs: { 'http.request.method': 'GET' } };
    const r = await postOtlp(ts.url, 'traces', traceRequest([noUsage, web]), 'protobuf');
    const partial = r.body['partialSuccess'] as { rejectedSpans: number; errorMessage: string };
    assert.equal(partial.rejectedSpans, 2);
    assert.match(partial.errorMessage, /1 an LLM call span without token usage: not used; 1 no GenAI attributes/);
    await ts.settle();
    assert.deepEqual(await ofSession(traceId('nu')), []);
  });
});
