import { secondsSince, type Sample } from './measure.ts';

interface PlainTotals {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  llmCalls: number;
  toolCalls: number;
  toolErrors: number;
}

interface ParsedLine {
  type: string;
  session: string;
  turn?: string;
  inputTokens?: number;
  outputTokens?: number;
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
  error?: string;
}

/**
 * The ceiling (DESIGN.md §9): a plain loop that parses each line and folds it into a per
 * (session, turn) record in a Map, emitting (and forgetting) the record at `turn.end`. No
 * validation, no durability, no export: what any pipeline on this machine cannot beat.
 */
export function runBaseline(lines: readonly string[]): Sample {
  const start = process.hrtime.bigint();
  const open = new Map<string, PlainTotals>();
  let closed = 0;
  let checksum = 0;
  for (const line of lines) {
    const e = JSON.parse(line) as ParsedLine;
    if (e.turn === undefined) continue;
    const key = `${e.session}\u0000${e.turn}`;
    let t = open.get(key);
    if (t === undefined) {
      t = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, llmCalls: 0, toolCalls: 0, toolErrors: 0 };
      open.set(key, t);
    }
    switch (e.type) {
      case 'llm.usage':
        t.llmCalls++;
        t.inputTokens += e.inputTokens ?? 0;
        t.outputTokens += e.outputTokens ?? 0;
        t.cacheReadTokens += e.cacheReadTokens ?? 0;
        t.cacheWriteTokens += e.cacheWriteTokens ?? 0;
        break;
      case 'tool.end':
        t.toolCalls++;
        if (e.error !== undefined) t.toolErrors++;
        break;
      case 'turn.end':
        closed++;
        checksum += t.inputTokens + t.toolCalls;
        open.delete(key);
        break;
    }
  }
  const seconds = secondsSince(start);
  return { seconds, count: lines.length, extra: { turnsClosed: closed, turnsOpen: open.size, checksum } };
}
