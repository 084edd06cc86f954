import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { OtlpTurnEncoder } from '../../src/exporters/otlp-turn-encoder.ts';
import { telemetryIdentity } from '../../src/exporters/telemetry-identity.ts';
import { buildTurnSpans } from '../../src/exporters/turn-spans.ts';
import { ZERO_USAGE } from '../../src/model/token-usage.ts';
import type { LlmCallSummary, ToolCallSummary, TurnAggregate } from '../../src/model/turn-aggregate.ts';

/** Seeded pseudo-random turns: odd strings (non-ASCII, long enough for 2- and 3-byte lengths), huge and fractional numbers, errors, open tool calls. */
function turns(seed: number, count: number): TurnAggregate[] {
  let s = seed;
  const rnd = () => {
    s = (s * 1_103_515_245 + 12_345) % 2 ** 31;
    return s / 2 ** 31;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const text = (): string => pick(['Read', 'é中😀', '', 'x'.repeat(200), 'y'.repeat(20_000), `id-${Math.floor(rnd() * 1e9)}`]);
  const int = (): number => pick([0, 1, 127, 128, 16_383, 16_384, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 3, Number.MAX_SAFE_INTEGER]);
  const ms = (): number => pick([0, 1.5, 999.9999, 1_793_491_397_699, 1_793_491_397_699.25, 4_102_444_800_000]) + Math.floor(rnd() * 5000);
  const llm = (i: number): LlmCallSummary => {
    const start = ms();
    return {
      ...ZERO_USAGE,
      inputTokens: int(),
      outputTokens: int(),
      cacheReadTokens: int(),
      cacheWriteTokens: int(),
      reasoningTokens: pick([0, 0, 7, 2 ** 33]),
      cost: pick([0, 0.1 + 0.2, 1e-9, 12.5, 3]),
      eventId: `e${i}-${text()}`,
      provider: text(),
      model: text(),
      startMs: start,
      endMs: pick([start, start - 10, start + 1234.5]),
      costSource: pick(['table', 'reported']),
      ...(rnd() < 0.5 ? { finishReason: text() } : {}),
    };
  };
  const tool = (i: number): ToolCallSummary => {
    const startMs = ms();
    return {
      toolCallId: `c${i}-${text()}`,
      toolName: text(),
      startMs,
      ...(rnd() < 0.8 ? { endMs: startMs + Math.floor(rnd() * 1000) } : {}),
      ...(rnd() < 0.2 ? { error: text() } : {}),
    };
  };
  return Array.from({ length: count }, (_, t) => {
    const llmCalls = Array.from({ length: Math.floor(rnd() * 6) }, (_, i) => llm(i));
    const tools = Array.from({ length: Math.floor(rnd() * 6) }, (_, i) => tool(i));
    const startMs = ms();
    return {
      ...ZERO_USAGE,
      inputTokens: int(),
      outputTokens: int(),
      cost: pick([0, 0.30000000000000004, 41.25]),
      llmCalls: llmCalls.length,
      toolCalls: tools.length,
      errors: 0,
      session: `s-${text()}`,
      turn: `t${t}`,
      revision: pick([0, 1, 300]),
      status: pick(['completed', 'abandoned'] as const),
      ...(rnd() < 0.5 ? { agent: text() } : {}),
      startMs,
      endMs: startMs + Math.floor(rnd() * 1e6),
      durationMs: 0,
      ...(rnd() < 0.5 ? { stopReason: text() } : {}),
      toolNames: tools.map((x) => x.toolName),
      models: [],
      llm: llmCalls,
      tools,
      firstEventId: 'a',
      lastEventId: 'b',
      eventCount: 1,
      closedAtPos: t + 1,
    };
  });
}

describe('OtlpTurnEncoder: OTLP protobuf straight from turn records', () => {
  it("writes exactly the SDK serializer's bytes for the spans buildTurnSpans makes, over many odd turns", () => {
    for (const [serviceName, version] of [
      ['turnstream', '1.2.3'],
      ['agents-prod é', ''],
    ] as const) {
      const encoder = new OtlpTurnEncoder({ serviceName, version });
      const ctx = telemetryIdentity(serviceName, version);
      for (let seed = 1; seed <= 60; seed++) {
        const batch = turns(seed, 1 + (seed % 7));
        const expected = ProtobufTraceSerializer.serializeRequest(batch.flatMap((a) => buildTurnSpans(a, ctx)));
        // Encoded turn by turn (as the span thread queues them), then joined into one request.
        const parts = batch.map((a) => encoder.encode([a]));
        const request = encoder.request(parts.map((p) => p.bytes));
        assert.deepEqual(Buffer.from(request), Buffer.from(expected!), `seed ${seed}, service ${serviceName}`);
        assert.equal(
          parts.reduce((n, p) => n + p.spans, 0),
          batch.reduce((n, a) => n + 1 + a.llm.length + a.tools.length, 0),
        );
      }
    }
  });

  it('encodes several turns at once the same as one by one', () => {
    const encoder = new OtlpTurnEncoder({ serviceName: 'turnstream', version: 'x' });
    const batch = turns(7, 20);
    const together = encoder.encode(batch);
    const apart = batch.map((a) => encoder.encode([a]));
    assert.deepEqual(Buffer.from(together.bytes), Buffer.concat(apart.map((p) => p.bytes)));
    assert.equal(
      together.spans,
      apart.reduce((n, p) => n + p.spans, 0),
    );
  });
});
