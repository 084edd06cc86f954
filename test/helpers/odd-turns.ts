import { ZERO_USAGE } from '../../src/model/token-usage.ts';
import type { LlmCallSummary, ToolCallSummary, TurnAggregate } from '../../src/model/turn-aggregate.ts';

/** Seeded pseudo-random turns: odd strings (non-ASCII, long enough for 2- and 3-byte lengths), huge and fractional numbers, errors, open tool calls. */
export function oddTurns(seed: number, count: number): TurnAggregate[] {
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
