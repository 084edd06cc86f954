import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { deterministicIds } from '../../src/exporters/deterministic-ids.ts';
import { parsePromText, sumOf, type Sample } from '../helpers/prom-text.ts';
import { post, startPipeline, type RunningPipeline } from '../helpers/running-pipeline.ts';

const example = (name: string): string => readFileSync(new URL(`../../examples/${name}.ndjson`, import.meta.url), 'utf8');
const close = (actual: number, expected: number): void => assert.ok(Math.abs(actual - expected) < 1e-9, `${actual} ≠ ${expected}`);
const ms = (iso: string): number => Date.parse(iso);
const hrMs = (t: [number, number]): number => t[0] * 1000 + t[1] / 1e6;

// Hand-computed from examples/*.ndjson and the built-in prices (USD per million tokens):
// claude-sonnet-4-5: input 3, output 15, cache read 0.30, cache write (5m) 3.75.
// claude-haiku-4-5: input 1, output 5, cache read 0.10.
//
// demo-1 turn-1: call 1 = 1200×3 + 300×15 + 8000×0.3 + 2000×3.75 = 3600+4500+2400+7500 = 18000 µ$ = 0.018
//                call 2 = 400×3 + 150×15 + 10000×0.3            = 1200+2250+3000      = 0.00645
//                call 3 = 100×3 + 420×15 + 10500×0.3            = 300+6300+3150       = 0.00975
//                turn cost 0.0342; input 1700, output 870, cache read 28500, cache write 2000
//                duration 10:00:00.000 → 10:00:09.050 = 9050 ms; tools Read, Bash (error), Edit
// demo-1 turn-2: provider-reported cost 0.0021 (gpt-4o-mini), input 5000, output 800, 3100 ms
// demo-2 a: haiku 1000×1 + 200×5 = 0.002; tools lookup_order; 11:00:00 → 11:00:07 = 7000 ms
// demo-2 b: haiku 500×1 + 100×5 + 2000×0.1 = 0.0012, plus a subscription call (cost 0) → 0.0012;
//           tools search_kb; 11:00:01 → 11:00:08 = 7000 ms; stop max_tokens
// demo-3 t1: 100×3 + 50×15 = 0.00105, then a late call 200×3 + 100×15 = 0.0021 → revision 1, 0.00315
describe('the shipped examples, end to end over HTTP', () => {
  let ts: RunningPipeline;
  let metrics: Sample[];
  let metricsText: string;
  let spans: ReadableSpan[];

  before(async () => {
    ts = await startPipeline();
    for (const name of ['coding-session', 'concurrent-turns', 'messy-delivery']) await post(ts.url, example(name));
    await ts.settle();
    metricsText = await (await fetch(`${ts.url}/metrics`)).text();
    metrics = parsePromText(metricsText);
    spans = ts.spans.getFinishedSpans();
  });
  after(() => ts.stop({ remove: true }));

  it('aggregates a turn: tool names in order, tokens by type, cost, duration, stop reason', async () => {
    const [t1, t2] = await ts.pipeline.store.state.turns('demo-1');
    assert.ok(t1 && t2);
    assert.equal(t1.turn, 'turn-1');
    assert.deepEqual(t1.toolNames, ['Read', 'Bash', 'Edit']);
    assert.equal(t1.toolCalls, 3);
    assert.equal(t1.llmCalls, 3);
    assert.deepEqual([t1.inputTokens, t1.outputTokens, t1.cacheReadTokens, t1.cacheWriteTokens], [1700, 870, 28500, 2000]);
    close(t1.cost, 0.0342);
    assert.equal(t1.durationMs, 9050);
    assert.equal(t1.stopReason, 'end_turn');
    assert.equal(t1.status, 'completed');
    assert.equal(t1.errors, 1);
    assert.equal(t1.agent, 'claude-code');
    assert.equal(t2.turn, 'turn-2');
    close(t2.cost, 0.0021);
    assert.equal(t2.durationMs, 3100);
    assert.deepEqual(t2.toolNames, []);
  });

  it('keeps session totals and last-write-wins state (a delete is a tombstone)', async () => {
    const totals = await ts.pipeline.store.state.totals('demo-1');
    assert.ok(totals);
    assert.deepEqual(
      [totals.turns, totals.llmCalls, totals.toolCalls, totals.inputTokens, totals.outputTokens, totals.cacheReadTokens, totals.cacheWriteTokens],
      [2, 4, 3, 6700, 1670, 28500, 2000],
    );
    close(totals.cost, 0.0363);
    assert.deepEqual(await ts.pipeline.store.state.list('demo-1'), { branch: 'fix-login' });
    assert.equal((await ts.pipeline.store.state.get('demo-1', 'plan'))?.deleted, true);
  });

  it('aggregates concurrent turns of one session separately', async () => {
    const turns = await ts.pipeline.store.state.turns('demo-2');
    const a = turns.find((t) => t.turn === 'a');
    const b = turns.find((t) => t.turn === 'b');
    assert.ok(a && b);
    assert.deepEqual(a.toolNames, ['lookup_order']);
    assert.deepEqual(b.toolNames, ['search_kb']);
    assert.equal(a.llmCalls, 1);
    assert.equal(b.llmCalls, 2);
    close(a.cost, 0.002);
    close(b.cost, 0.0012);
    assert.equal(a.durationMs, 7000);
    assert.equal(b.durationMs, 7000);
    assert.equal(b.stopReason, 'max_tokens');
    assert.equal(b.agent, 'support-bot');
  });

  it('handles out-of-order, duplicate and late events: one revision, nothing double-counted', async () => {
    const [t1, t2] = await ts.pipeline.store.state.turns('demo-3');
    assert.ok(t1 && t2);
    assert.equal(t1.revision, 1);
    assert.equal(t1.llmCalls, 2);
    assert.deepEqual([t1.inputTokens, t1.outputTokens], [300, 150]);
    close(t1.cost, 0.00315);
    assert.deepEqual(t1.toolNames, ['Grep']);
    // The tool's start came after its end on the wire: the span still starts at the start event's time.
    const grep = spans.find((x) => x.name === 'execute_tool Grep' && x.spanContext().traceId === deterministicIds.traceId('demo-3', 't1'));
    assert.equal(grep && hrMs(grep.startTime), ms('2026-03-02T12:00:02.000Z'));
    assert.deepEqual(t2.toolNames, ['Bash']);
    const totals = await ts.pipeline.store.state.totals('demo-3');
    assert.equal(totals?.turns, 2);
    assert.equal(totals?.llmCalls, 2);
    close(totals?.cost ?? NaN, 0.00315);
    assert.deepEqual(await ts.pipeline.store.deadLetters.countByReason(), { duplicate: 1, invalid_json: 1, unknown_version: 1, schema: 1 });
  });

  it('exports one trace per turn with GenAI attributes, event-time bounds and deterministic ids', () => {
    const traceId = deterministicIds.traceId('demo-1', 'turn-1');
    const trace = spans.filter((s) => s.spanContext().traceId === traceId);
    const root = trace.find((s) => s.parentSpanContext === undefined);
    assert.ok(root);
    assert.equal(root.name, 'invoke_agent claude-code');
    assert.equal(root.spanContext().spanId, deterministicIds.turnSpanId('demo-1', 'turn-1'));
    assert.equal(root.attributes['gen_ai.conversation.id'], 'demo-1');
    assert.equal(root.attributes['session.id'], 'demo-1');
    // OTel convention: input includes cache tokens: 1700 + 28500 + 2000
    assert.equal(root.attributes['gen_ai.usage.input_tokens'], 32200);
    assert.equal(root.attributes['gen_ai.usage.cache_read.input_tokens'], 28500);
    assert.equal(hrMs(root.startTime), ms('2026-03-02T10:00:00.000Z'));
    assert.equal(hrMs(root.endTime), ms('2026-03-02T10:00:09.050Z'));
    const chats = trace.filter((s) => s.name === 'chat claude-sonnet-4-5');
    assert.equal(chats.length, 3);
    const first = chats.find((s) => s.spanContext().spanId === deterministicIds.llmSpanId('demo-1', 'demo1-004'));
    assert.ok(first);
    assert.equal(first.attributes['gen_ai.usage.input_tokens'], 1200 + 8000 + 2000);
    assert.equal(first.attributes['gen_ai.provider.name'], 'anthropic');
    assert.deepEqual(first.attributes['gen_ai.response.finish_reasons'], ['tool_use']);
    assert.equal(hrMs(first.startTime), ms('2026-03-02T10:00:00.200Z')); // 10:00:02.000 − 1800 ms
    const tools = trace.filter((s) => s.name.startsWith('execute_tool '));
    assert.deepEqual(
      tools.map((s) => s.name),
      ['execute_tool Read', 'execute_tool Bash', 'execute_tool Edit'],
    );
    const bash = tools[1]!;
    assert.equal(bash.status.code, SpanStatusCode.ERROR);
    assert.equal(bash.attributes['error.type'], 'exit code 1');
    for (const s of trace) assert.equal(s.parentSpanContext?.spanId ?? root.spanContext().spanId, root.spanContext().spanId);
  });

  it('never exports prompts or tool inputs: span attributes are counts, names, tokens, cost and timings', () => {
    const allowed = /^(gen_ai\.|session\.id$|turnstream\.|error\.type$)/;
    for (const s of spans) for (const key of Object.keys(s.attributes)) assert.match(key, allowed);
  });

  it('re-exports a revised turn under the same trace and span ids', () => {
    const roots = spans.filter((s) => s.spanContext().traceId === deterministicIds.traceId('demo-3', 't1') && s.parentSpanContext === undefined);
    assert.deepEqual(
      roots.map((s) => s.attributes['turnstream.turn.revision']),
      [0, 1],
    );
    assert.equal(new Set(roots.map((s) => s.spanContext().spanId)).size, 1);
  });

  it('exposes Prometheus series with the hand-computed values and no session label', () => {
    // sonnet: demo-1 0.0342 + demo-3 0.00315 = 0.03735 (the revision adds only its difference)
    close(sumOf(metrics, 'turnstream_llm_cost_usd_total', { gen_ai_request_model: 'claude-sonnet-4-5', gen_ai_agent_name: 'claude-code' }), 0.03735);
    close(sumOf(metrics, 'turnstream_llm_cost_usd_total'), 0.03735 + 0.0021 + 0.0032);
    assert.equal(sumOf(metrics, 'turnstream_tokens_total', { turnstream_token_type: 'cache_read' }), 28500 + 2000);
    assert.equal(sumOf(metrics, 'turnstream_turns_total'), 6);
    assert.equal(sumOf(metrics, 'turnstream_turns_total', { turnstream_turn_stop_reason: 'max_tokens' }), 1);
    assert.equal(sumOf(metrics, 'turnstream_turn_revisions_total'), 1);
    assert.equal(sumOf(metrics, 'turnstream_tool_calls_total', { gen_ai_tool_name: 'Bash', turnstream_tool_outcome: 'error' }), 1);
    assert.equal(sumOf(metrics, 'turnstream_events_dead_lettered_total', { turnstream_reason: 'invalid_json' }), 1);
    assert.equal(sumOf(metrics, 'turnstream_events_deduped_total'), 1);
    assert.equal(sumOf(metrics, 'turnstream_events_ingested_total'), 19 + 12 + 11);
    assert.equal(sumOf(metrics, 'turnstream_turn_duration_count'), 6);
    // gen_ai.client.token.usage input (OTel convention, incl. cache) over all 10 calls
    assert.equal(sumOf(metrics, 'gen_ai_client_token_usage_sum', { gen_ai_token_type: 'input' }), 32200 + 5000 + 1000 + 2500 + 300 + 100 + 200);
    for (const id of ['demo-1', 'demo-2', 'demo-3', 'turn-1']) assert.ok(!metricsText.includes(id), `${id} leaked into /metrics`);
  });

  it('dead-letters an event older than the grace period for a turn no longer held, and keeps going', async () => {
    const lateLine = JSON.stringify({
      v: 1,
      id: 'late-1',
      type: 'llm.usage',
      session: 'demo-1',
      turn: 'turn-1',
      time: '2026-03-02T10:00:05.000Z',
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
      inputTokens: 1,
      outputTokens: 1,
    });
    const res = await post(ts.url, `${lateLine}\n`);
    assert.equal(res.status, 200); // durable in the log: accepted; lateness is found by the stream
    await ts.settle();
    const late = await ts.pipeline.store.deadLetters.list({ reason: 'late' });
    assert.equal(late.length, 1);
    assert.equal(late[0]?.eventId, 'late-1');
    close((await ts.pipeline.store.state.totals('demo-1'))?.cost ?? NaN, 0.0363);
  });
});
