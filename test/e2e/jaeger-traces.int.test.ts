import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deterministicIds } from '../../src/exporters/deterministic-ids.ts';
import { startJaeger, type JaegerProcess, type JaegerSpan, type JaegerTrace } from '../helpers/jaeger-process.ts';
import { post } from '../helpers/running-pipeline.ts';
import { startTurnstreamProcess, type TurnstreamProcess } from '../helpers/turnstream-process.ts';

const example = (name: string): string => readFileSync(new URL(`../../examples/${name}.ndjson`, import.meta.url), 'utf8');
/** Jaeger's span times are µs since the epoch; the examples' event times are ISO strings. */
const us = (iso: string): number => Date.parse(iso) * 1000;

// What each turn's trace must be, hand-computed from examples/coding-session.ndjson and
// examples/concurrent-turns.ndjson (the same numbers as test/e2e/examples.test.ts and the README
// quick start). An LLM call ends at its event time and starts durationMs earlier; a tool call runs
// from its tool.start to its tool.end; the root spans turn.start → turn.end.
// gen_ai.usage.input_tokens INCLUDES cache reads and writes (the event's inputTokens excludes them):
//   demo-1 turn-1 call 1: 1200 + 8000 + 2000 = 11200; call 2: 400 + 10000 = 10400; call 3: 100 + 10500 = 10600;
//   turn: 1700 + 28500 + 2000 = 32200. Costs (USD): 0.018 + 0.00645 + 0.00975 = 0.0342.
//   demo-2 b call 1: 500 + 2000 = 2500 → 500×1 + 100×5 + 2000×0.1 µ$ = 0.0012; call 2 is on a subscription: 0.
interface Child {
  readonly name: string;
  readonly spanId: string;
  readonly start: string;
  readonly end: string;
  readonly tags: Record<string, unknown>;
  readonly error?: string;
  /** gen_ai.response.finish_reasons: an array attribute, which Jaeger shows as a JSON string. */
  readonly finishReasons?: readonly string[];
}
interface Expected {
  readonly session: string;
  readonly turn: string;
  readonly agent: string;
  readonly start: string;
  readonly end: string;
  readonly tags: Record<string, unknown>;
  readonly children: readonly Child[];
}

const chat = (session: string, eventId: string, model: string, start: string, end: string, tags: Record<string, unknown>, finish?: string): Child => ({
  name: `chat ${model}`,
  spanId: deterministicIds.llmSpanId(session, eventId),
  start,
  end,
  tags: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': model, 'gen_ai.conversation.id': session, 'span.kind': 'client', ...tags },
  ...(finish === undefined ? {} : { finishReasons: [finish] }),
});
const tool = (session: string, turn: string, callId: string, name: string, start: string, end: string, error?: string): Child => ({
  name: `execute_tool ${name}`,
  spanId: deterministicIds.toolSpanId(session, turn, callId),
  start,
  end,
  tags: {
    'gen_ai.operation.name': 'execute_tool',
    'span.kind': 'internal',
    'gen_ai.tool.name': name,
    'gen_ai.tool.call.id': callId,
    'gen_ai.conversation.id': session,
    ...(error === undefined ? {} : { 'error.type': error }),
  },
  ...(error === undefined ? {} : { error }),
});
const sonnet = { 'gen_ai.provider.name': 'anthropic', 'turnstream.cost.source': 'computed' };
const haiku = { 'gen_ai.provider.name': 'anthropic' };

const EXPECTED: readonly Expected[] = [
  {
    session: 'demo-1',
    turn: 'turn-1',
    agent: 'claude-code',
    start: '2026-03-02T10:00:00.000Z',
    end: '2026-03-02T10:00:09.050Z',
    tags: {
      'gen_ai.usage.input_tokens': 32200,
      'gen_ai.usage.output_tokens': 870,
      'gen_ai.usage.cache_read.input_tokens': 28500,
      'gen_ai.usage.cache_creation.input_tokens': 2000,
      'gen_ai.usage.cost': 0.0342,
      'turnstream.turn.status': 'completed',
      'turnstream.turn.stop_reason': 'end_turn',
      'turnstream.turn.tool_calls': 3,
      'turnstream.turn.llm_calls': 3,
      'turnstream.turn.revision': 0,
    },
    children: [
      chat(
        'demo-1',
        'demo1-004',
        'claude-sonnet-4-5',
        '2026-03-02T10:00:00.200Z',
        '2026-03-02T10:00:02.000Z',
        {
          ...sonnet,
          'gen_ai.usage.input_tokens': 11200,
          'gen_ai.usage.output_tokens': 300,
          'gen_ai.usage.cache_read.input_tokens': 8000,
          'gen_ai.usage.cache_creation.input_tokens': 2000,
          'gen_ai.usage.cost': 0.018,
        },
        'tool_use',
      ),
      tool('demo-1', 'turn-1', 'call-1', 'Read', '2026-03-02T10:00:02.100Z', '2026-03-02T10:00:02.400Z'),
      tool('demo-1', 'turn-1', 'call-2', 'Bash', '2026-03-02T10:00:02.500Z', '2026-03-02T10:00:04.500Z', 'exit code 1'),
      chat(
        'demo-1',
        'demo1-010',
        'claude-sonnet-4-5',
        '2026-03-02T10:00:04.600Z',
        '2026-03-02T10:00:07.000Z',
        {
          ...sonnet,
          'gen_ai.usage.input_tokens': 10400,
          'gen_ai.usage.output_tokens': 150,
          'gen_ai.usage.cache_read.input_tokens': 10000,
          'gen_ai.usage.cache_creation.input_tokens': 0,
          'gen_ai.usage.cost': 0.00645,
        },
        'tool_use',
      ),
      tool('demo-1', 'turn-1', 'call-3', 'Edit', '2026-03-02T10:00:07.100Z', '2026-03-02T10:00:07.300Z'),
      chat(
        'demo-1',
        'demo1-013',
        'claude-sonnet-4-5',
        '2026-03-02T10:00:07.500Z',
        '2026-03-02T10:00:09.000Z',
        {
          ...sonnet,
          'gen_ai.usage.input_tokens': 10600,
          'gen_ai.usage.output_tokens': 420,
          'gen_ai.usage.cache_read.input_tokens': 10500,
          'gen_ai.usage.cost': 0.00975,
        },
        'end_turn',
      ),
    ],
  },
  {
    session: 'demo-1',
    turn: 'turn-2',
    agent: 'claude-code',
    start: '2026-03-02T10:01:00.000Z',
    end: '2026-03-02T10:01:03.100Z',
    tags: {
      'gen_ai.usage.input_tokens': 5000,
      'gen_ai.usage.output_tokens': 800,
      'gen_ai.usage.cost': 0.0021,
      'turnstream.turn.stop_reason': 'end_turn',
      'turnstream.turn.tool_calls': 0,
      'turnstream.turn.llm_calls': 1,
    },
    children: [
      chat(
        'demo-1',
        'demo1-016',
        'gpt-4o-mini',
        '2026-03-02T10:01:00.500Z',
        '2026-03-02T10:01:03.000Z',
        {
          'gen_ai.provider.name': 'openai',
          'gen_ai.usage.input_tokens': 5000,
          'gen_ai.usage.output_tokens': 800,
          'gen_ai.usage.cost': 0.0021,
          'turnstream.cost.source': 'provider',
        },
        'stop',
      ),
    ],
  },
  {
    session: 'demo-2',
    turn: 'a',
    agent: 'support-bot',
    start: '2026-03-02T11:00:00.000Z',
    end: '2026-03-02T11:00:07.000Z',
    tags: {
      'gen_ai.usage.input_tokens': 1000,
      'gen_ai.usage.output_tokens': 200,
      'gen_ai.usage.cost': 0.002,
      'turnstream.turn.stop_reason': 'end_turn',
      'turnstream.turn.tool_calls': 1,
      'turnstream.turn.llm_calls': 1,
    },
    children: [
      chat('demo-2', 'demo2-004', 'claude-haiku-4-5', '2026-03-02T11:00:01.100Z', '2026-03-02T11:00:02.000Z', {
        ...haiku,
        'gen_ai.usage.input_tokens': 1000,
        'gen_ai.usage.output_tokens': 200,
        'gen_ai.usage.cost': 0.002,
      }),
      tool('demo-2', 'a', 'l1', 'lookup_order', '2026-03-02T11:00:03.000Z', '2026-03-02T11:00:05.000Z'),
    ],
  },
  {
    session: 'demo-2',
    turn: 'b',
    agent: 'support-bot',
    start: '2026-03-02T11:00:01.000Z',
    end: '2026-03-02T11:00:08.000Z',
    tags: {
      'gen_ai.usage.input_tokens': 2800,
      'gen_ai.usage.output_tokens': 150,
      'gen_ai.usage.cache_read.input_tokens': 2000,
      'gen_ai.usage.cost': 0.0012,
      'turnstream.turn.stop_reason': 'max_tokens',
      'turnstream.turn.tool_calls': 1,
      'turnstream.turn.llm_calls': 2,
    },
    children: [
      tool('demo-2', 'b', 's1', 'search_kb', '2026-03-02T11:00:02.500Z', '2026-03-02T11:00:04.000Z'),
      chat('demo-2', 'demo2-009', 'claude-haiku-4-5', '2026-03-02T11:00:05.300Z', '2026-03-02T11:00:06.000Z', {
        ...haiku,
        'gen_ai.usage.input_tokens': 2500,
        'gen_ai.usage.output_tokens': 100,
        'gen_ai.usage.cache_read.input_tokens': 2000,
        'gen_ai.usage.cost': 0.0012,
        'turnstream.cost.source': 'computed',
      }),
      chat('demo-2', 'demo2-010', 'claude-haiku-4-5', '2026-03-02T11:00:06.100Z', '2026-03-02T11:00:06.500Z', {
        ...haiku,
        'gen_ai.usage.input_tokens': 300,
        'gen_ai.usage.output_tokens': 50,
        'gen_ai.usage.cost': 0,
        'turnstream.cost.source': 'subscription',
      }),
    ],
  },
];

const tag = (s: JaegerSpan, key: string): unknown => s.tags.find((t) => t.key === key)?.value;
function assertTags(s: JaegerSpan, expected: Record<string, unknown>): void {
  for (const [key, want] of Object.entries(expected)) {
    const got = tag(s, key);
    if (typeof want === 'number') assert.ok(typeof got === 'number' && Math.abs(got - want) < 1e-9, `${s.operationName} ${key}: ${String(got)} ≠ ${want}`);
    else assert.equal(got, want, `${s.operationName} ${key}`);
  }
}
function assertTimes(s: JaegerSpan, start: string, end: string): void {
  assert.equal(s.startTime, us(start), `${s.operationName} start`);
  assert.equal(s.startTime + s.duration, us(end), `${s.operationName} end`);
}

describe('spans in a real Jaeger v2, read back by their deterministic trace ids', () => {
  let jaeger: JaegerProcess;
  let ts: TurnstreamProcess;
  const dir = mkdtempSync(join(tmpdir(), 'turnstream-jaeger-'));
  const traces = new Map<string, JaegerTrace>();

  before(async () => {
    jaeger = await startJaeger(); // builds Jaeger with deploy/tools/jaeger.sh on first use (minutes, once)
    ts = await startTurnstreamProcess(['--data-dir', join(dir, 'data')], {
      OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpHttpUrl,
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_TRACES_EXPORTER: undefined,
      OTEL_SERVICE_NAME: undefined, // the default service name is part of what is checked
    });
    for (const name of ['coding-session', 'concurrent-turns']) {
      const res = await post(ts.url, example(name));
      assert.equal(res.status, 200, JSON.stringify(res.json));
    }
    for (const e of EXPECTED) {
      const id = deterministicIds.traceId(e.session, e.turn);
      traces.set(`${e.session}/${e.turn}`, await jaeger.waitForTrace(id, 1 + e.children.length));
    }
  });
  after(async () => {
    await ts?.stop();
    await jaeger?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const e of EXPECTED) {
    describe(`${e.session} ${e.turn}`, () => {
      const trace = (): JaegerTrace => traces.get(`${e.session}/${e.turn}`) ?? assert.fail('trace not read');
      const root = (): JaegerSpan => trace().spans.find((s) => s.references.length === 0) ?? assert.fail('no root span');

      it('is one trace: an invoke_agent root with exactly the chat / execute_tool children, all under the turn id', () => {
        const t = trace();
        assert.equal(t.traceID, deterministicIds.traceId(e.session, e.turn));
        assert.equal(t.spans.length, 1 + e.children.length, t.spans.map((s) => s.operationName).join(', '));
        const r = root();
        assert.equal(r.operationName, `invoke_agent ${e.agent}`);
        assert.equal(r.spanID, deterministicIds.turnSpanId(e.session, e.turn));
        for (const c of e.children) {
          const s = t.spans.find((x) => x.spanID === c.spanId);
          assert.ok(s, `no span ${c.name} (${c.spanId})`);
          assert.equal(s.operationName, c.name);
          assert.deepEqual(s.references, [{ refType: 'CHILD_OF', traceID: t.traceID, spanID: r.spanID }], c.name);
        }
        const services = new Set(t.spans.map((s) => t.processes[s.processID]?.serviceName));
        assert.deepEqual([...services], ['turnstream']);
      });

      it('carries the documented attributes, input tokens including cache, and error status on a failed tool', () => {
        assertTags(root(), {
          'gen_ai.operation.name': 'invoke_agent',
          'span.kind': 'internal',
          'gen_ai.agent.name': e.agent,
          'gen_ai.conversation.id': e.session,
          'session.id': e.session,
          'turnstream.turn.id': e.turn,
          ...e.tags,
        });
        for (const c of e.children) {
          const s = trace().spans.find((x) => x.spanID === c.spanId) ?? assert.fail(c.name);
          assertTags(s, c.tags);
          if (c.name.startsWith('chat ')) {
            const finish = tag(s, 'gen_ai.response.finish_reasons');
            assert.deepEqual(finish === undefined ? undefined : JSON.parse(String(finish)), c.finishReasons, `${c.name} finish reasons`);
          }
          // OTLP span status ERROR is Jaeger's error=true plus otel.status_code / description.
          if (c.error === undefined) {
            assert.equal(tag(s, 'error'), undefined, `${c.name} is not an error`);
            assert.equal(tag(s, 'otel.status_code'), undefined, `${c.name} status is unset`);
          } else {
            assert.equal(tag(s, 'error'), true, `${c.name} error`);
            assert.equal(tag(s, 'otel.status_code'), 'ERROR', `${c.name} status`);
            assert.equal(tag(s, 'otel.status_description'), c.error, `${c.name} status message`);
          }
        }
      });

      it('starts and ends at the event times (µs)', () => {
        assertTimes(root(), e.start, e.end);
        for (const c of e.children) assertTimes(trace().spans.find((x) => x.spanID === c.spanId) ?? assert.fail(c.name), c.start, c.end);
      });
    });
  }

  it("finds every turn by service over the examples' event-time range (the search the UI runs)", async () => {
    const q = new URLSearchParams({
      service: 'turnstream',
      start: String(us('2026-03-02T09:59:00.000Z')),
      end: String(us('2026-03-02T11:01:00.000Z')),
      limit: '100',
    });
    const body = (await (await fetch(`${jaeger.queryUrl}/api/traces?${q}`)).json()) as { data: JaegerTrace[] };
    const found = body.data.map((t) => t.traceID).sort();
    assert.deepEqual(found, EXPECTED.map((e) => deterministicIds.traceId(e.session, e.turn)).sort());
  });
});
