import assert from 'node:assert/strict';
import type { Kafka } from 'kafkajs';
import type { TopicNames } from '../../src/kafka/topics.ts';
import { silentLogger } from '../../src/logger.ts';
import { KafkaStateView } from '../../src/state/kafka-state-view.ts';
import { eventually } from '../helpers/turnstream-process.ts';

/**
 * A deterministic stream of many small sessions (enough to land on every partition of a 6-partition
 * topic), turn-major: turn t of every session, then turn t+1. Cutting it anywhere leaves turns open
 * (work a checkpoint must carry). Per session `s` (id `many-<s>`) and turn `t`: turn.start;
 * llm.usage with input 100·(s+1) + t, output 10 and a provider-reported cost COST; state.set
 * `progress` = t; turn.end. Totals are closed forms (`manyTotals`).
 */
export const MANY_SESSIONS = 24;
export const MANY_TURNS = 6;
const COST = 0.001;
const BASE_MS = Date.parse('2025-07-01T08:00:00Z');

export const manySession = (s: number): string => `many-${s}`;

export function manyStream({ sessions = MANY_SESSIONS, turns = MANY_TURNS } = {}): string[] {
  const lines: string[] = [];
  for (let t = 0; t < turns; t++) {
    for (let s = 0; s < sessions; s++) {
      const session = manySession(s);
      const turn = `turn-${t}`;
      const start = BASE_MS + (t * sessions + s) * 1000;
      const emit = (step: number, name: string, body: Record<string, unknown>): void => {
        lines.push(JSON.stringify({ v: 1, id: `${session}/${turn}/${name}`, session, time: new Date(start + step * 10).toISOString(), turn, ...body }));
      };
      emit(0, 'start', { type: 'turn.start' });
      emit(1, 'llm', { type: 'llm.usage', provider: 'anthropic', model: 'claude-sonnet-4-5', inputTokens: 100 * (s + 1) + t, outputTokens: 10, cost: COST });
      emit(2, 'progress', { type: 'state.set', key: 'progress', value: t });
      emit(3, 'end', { type: 'turn.end', stopReason: 'end_turn' });
    }
  }
  return lines;
}

/** What a session's totals must be once the whole stream is processed. */
export function manyTotals(s: number, turns = MANY_TURNS): { turns: number; llmCalls: number; inputTokens: number; outputTokens: number; cost: number } {
  return { turns, llmCalls: turns, inputTokens: turns * 100 * (s + 1) + (turns * (turns - 1)) / 2, outputTokens: 10 * turns, cost: COST * turns };
}

/** Every session's totals and state, read by a reader of the whole topics, equal the closed forms (waits for them up to 90 s). */
export async function assertExact(kafka: Kafka, topics: TopicNames): Promise<void> {
  const view = await KafkaStateView.open({ kafka, topics, logger: silentLogger });
  try {
    await eventually(
      'exact totals for every session',
      () => Array.from({ length: MANY_SESSIONS }, (_, s) => view.totalsOf(manySession(s))?.turns === MANY_TURNS).every(Boolean),
      90_000,
    );
    for (let s = 0; s < MANY_SESSIONS; s++) {
      const t = view.totalsOf(manySession(s))!;
      const { cost, ...counts } = manyTotals(s);
      assert.deepEqual({ turns: t.turns, llmCalls: t.llmCalls, inputTokens: t.inputTokens, outputTokens: t.outputTokens }, counts, manySession(s));
      assert.ok(Math.abs(t.cost - cost) < 1e-9, `${manySession(s)} cost`);
      assert.deepEqual(await view.list(manySession(s)), { progress: MANY_TURNS - 1 });
    }
  } finally {
    await view.close();
  }
}
