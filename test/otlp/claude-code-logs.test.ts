import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { claudeLogsRequest, kv, type LogSpec, nanos, T0 } from './otlp-payloads.ts';
import { ENCODINGS, type OtlpTestServer, postOtlp, startOtlpServer } from './otlp-test-server.ts';

const SECRET = 'SECRET-PROMPT-TEXT';

/** Two prompts of one Claude Code session, as Claude Code logs them (counts as strings, like Claude Code sends them). */
function session(id: string): LogSpec[] {
  let seq = 0;
  const at = (s: number): number => T0 + s * 1000;
  const rec = (name: string, s: number, attrs: Record<string, string | number | boolean>): LogSpec => ({
    name,
    time: at(s),
    attrs: { 'session.id': id, 'event.sequence': seq++, 'user.id': 'u-hash', ...attrs },
  });
  return [
    rec('user_prompt', 0, { 'prompt.id': 'p1', prompt: SECRET, prompt_length: '42' }),
    rec('api_request', 2, {
      'prompt.id': 'p1',
      model: 'claude-sonnet-4-5',
      input_tokens: '100',
      output_tokens: '50',
      cache_read_tokens: '1000',
      cache_creation_tokens: '300',
      cache_creation_5m_tokens: '200',
      cache_creation_1h_tokens: '100',
      cost_usd: '0.0123',
      duration_ms: '1500',
    }),
    rec('tool_decision', 2, { 'prompt.id': 'p1', tool_name: 'Bash', tool_use_id: 'tu-1', decision: 'accept', source: 'config' }),
    rec('tool_result', 3, { 'prompt.id': 'p1', tool_name: 'Bash', tool_use_id: 'tu-1', success: 'true', duration_ms: '200', tool_parameters: SECRET }),
    rec('tool_result', 4, { 'prompt.id': 'p1', tool_name: 'Read', tool_use_id: 'tu-2', success: 'false', duration_ms: '10', error: SECRET }),
    rec('tool_decision', 5, { 'prompt.id': 'p1', tool_name: 'Write', tool_use_id: 'tu-3', decision: 'reject' }),
    rec('api_request', 7, { 'prompt.id': 'p1', model: 'claude-sonnet-4-5', input_tokens: '10', output_tokens: '5', cost_usd: '0.001', duration_ms: '900' }),
    rec('assistant_response', 7, { 'prompt.id': 'p1' }),
    rec('user_prompt', 60, { 'prompt.id': 'p2', prompt: SECRET }),
    rec('api_error', 61, { 'prompt.id': 'p2', model: 'claude-sonnet-4-5', error: SECRET, status_code: '529', duration_ms: '300' }),
    rec('api_request', 63, { 'prompt.id': 'p2', model: 'claude-sonnet-4-5', input_tokens: '7', output_tokens: '3', duration_ms: '800' }),
  ];
}

/** An event without what differs by session (its id and session), to compare encodings. */
const shape = (e: object): Record<string, unknown> => {
  const { id, session, ...rest } = e as Record<string, unknown>;
  return { ...rest, id: String(id).replace(String(session), 'S') };
};

describe('OTLP logs: Claude Code events → step events', () => {
  let ts: OtlpTestServer;
  before(async () => {
    ts = await startOtlpServer();
  });
  after(() => ts.stop());

  for (const encoding of ENCODINGS) {
    it(`maps a session's prompts, calls and tools (${encoding})`, async () => {
      const id = `cc-${encoding}`;
      const r = await postOtlp(ts.url, 'logs', claudeLogsRequest(session(id)), encoding);
      assert.equal(r.status, 200);
      assert.equal(r.contentType, encoding === 'json' ? 'application/json' : 'application/x-protobuf');
      assert.deepEqual(r.body, {}, 'every record was used: no partial_success');
      await ts.settle();
      const events = (await ts.events()).filter((e) => e.session === id);
      assert.deepEqual(
        events.map((e) => `${e.type}${'turn' in e && e.turn !== undefined ? `@${e.turn}` : ''}`),
        [
          'session.start',
          'turn.start@p1',
          'llm.usage@p1',
          'tool.start@p1',
          'tool.end@p1',
          'tool.start@p1',
          'tool.end@p1',
          'tool.start@p1',
          'tool.end@p1',
          'llm.usage@p1',
          'turn.end@p1',
          'turn.start@p2',
          'llm.usage@p2',
          'llm.usage@p2',
        ],
      );
      const first = events.find((e) => e.type === 'llm.usage')!;
      assert.deepEqual(
        { ...first, id: undefined, timeMs: undefined },
        {
          v: 1,
          id: undefined,
          timeMs: undefined,
          session: id,
          turn: 'p1',
          time: T0 + 2000,
          seq: 1,
          type: 'llm.usage',
          provider: 'anthropic',
          model: 'claude-sonnet-4-5',
          inputTokens: 100,
          outputTokens: 50,
          cacheReadTokens: 1000,
          cacheWriteTokens: 300,
          cacheWrite5mTokens: 200,
          cacheWrite1hTokens: 100,
          cost: 0.0123,
          costSource: 'computed',
          durationMs: 1500,
        },
      );
      const end = events.find((e) => e.type === 'turn.end')!;
      assert.equal(end.timeMs, T0 + 7000, 'the previous prompt ends at its last record, not at the next prompt');
      const error = events.filter((e) => e.type === 'llm.usage').find((e) => e.finishReason === 'error');
      assert.deepEqual([error?.inputTokens, error?.outputTokens, error?.durationMs], [0, 0, 300]);

      const [p1] = (await ts.pipeline.store.state.turns(id)).filter((t) => t.turn === 'p1');
      assert.equal(p1?.status, 'completed');
      assert.equal(p1?.llmCalls, 2);
      assert.equal(p1?.toolCalls, 3);
      assert.equal(p1?.errors, 2, 'the failed Read and the rejected Write');
      assert.deepEqual(p1?.toolNames, ['Bash', 'Read', 'Write']);
      assert.equal(p1?.inputTokens, 110);
      assert.equal(p1?.cacheReadTokens, 1000);
      assert.ok(Math.abs((p1?.cost ?? 0) - 0.0133) < 1e-9, `cost ${p1?.cost}`);
    });
  }

  it('gives the same events for protobuf and JSON', async () => {
    const all = await ts.events();
    const of = (s: string): Record<string, unknown>[] => all.filter((e) => e.session === s).map(shape);
    assert.ok(of('cc-json').length > 0);
    assert.deepEqual(of('cc-protobuf'), of('cc-json'));
  });

  it('never copies prompt text, tool parameters or error text into events', async () => {
    const all = await ts.events();
    assert.ok(all.length > 0);
    assert.ok(!JSON.stringify(all).includes('SECRET'), 'no attribute outside the mapping reaches the log');
  });

  it('dedupes an exporter retry of the same request', async () => {
    const before = await ts.pipeline.store.log.head();
    for (const encoding of ENCODINGS) {
      const r = await postOtlp(ts.url, 'logs', claudeLogsRequest(session(`cc-${encoding}`)), encoding);
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, {}, 'duplicates are not rejections');
    }
    assert.equal(await ts.pipeline.store.log.head(), before, 'nothing appended twice');
  });

  it('answers partial_success for unknown event names and invalid records, and keeps the rest', async () => {
    for (const encoding of ENCODINGS) {
      const id = `cc-bad-${encoding}`;
      const request = claudeLogsRequest([
        { name: 'user_prompt', time: T0, attrs: { 'session.id': id, 'prompt.id': 'q1', 'event.sequence': 0 } },
        { name: 'mystery_event', time: T0 + 1, attrs: { 'session.id': id, 'prompt.id': 'q1', 'event.sequence': 1 } },
        { name: 'api_request', time: T0 + 2, attrs: { 'session.id': id, 'prompt.id': 'q1', 'event.sequence': 2, input_tokens: '1', output_tokens: '1' } },
        {
          name: 'api_request',
          time: T0 + 3,
          attrs: { 'session.id': id, 'prompt.id': 'q1', 'event.sequence': 3, model: 'm', input_tokens: '-5', output_tokens: '1' },
        },
        {
          name: 'api_request',
          time: T0 + 4,
          attrs: { 'session.id': id, 'prompt.id': 'q1', 'event.sequence': 4, model: 'm', input_tokens: '5', output_tokens: '1' },
        },
      ]) as { resourceLogs: unknown[] };
      // A log record of another program in the same request.
      request.resourceLogs.push({
        resource: { attributes: kv({ 'service.name': 'web' }) },
        scopeLogs: [{ logRecords: [{ timeUnixNano: nanos(T0), body: { stringValue: 'GET /index.html 200' }, attributes: kv({ user: 'x' }) }] }],
      });
      const r = await postOtlp(ts.url, 'logs', request, encoding);
      assert.equal(r.status, 200);
      const partial = r.body['partialSuccess'] as { rejectedLogRecords: number | string; errorMessage: string };
      assert.equal(Number(partial.rejectedLogRecords), 4);
      assert.match(partial.errorMessage, /Claude Code event mystery_event is not mapped/);
      assert.match(partial.errorMessage, /not a Claude Code event \(GET \/index.html 200\)/);
      assert.match(partial.errorMessage, /missing or invalid attribute model/);
      await ts.settle();
      const events = (await ts.events()).filter((e) => e.session === id);
      assert.deepEqual(
        events.map((e) => e.type),
        ['session.start', 'turn.start', 'llm.usage'],
      );
    }
    const letters = await ts.pipeline.store.deadLetters.list({ reason: 'invalid_otlp' });
    assert.equal(letters.filter((l) => l.source === 'otlp' && /cc-bad/.test(l.raw)).length, 4, 'a missing model and a bad count, per encoding');
  });
});
