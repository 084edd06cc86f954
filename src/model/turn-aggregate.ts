import type { TokenUsage } from './token-usage.ts';

/**
 * The per-turn aggregate: what a closed turn window emits. Every list is in event-time order (ties
 * by seq, then id), so the aggregate does not depend on arrival order. Token names follow the event
 * schema (see `TokenUsage`).
 */

export type TurnStatus = 'completed' | 'abandoned';

export interface LlmCallSummary extends TokenUsage {
  readonly eventId: string;
  readonly provider: string;
  readonly model: string;
  /** Start and end in epoch ms: the event time is the end; start = end − durationMs. */
  readonly startMs: number;
  readonly endMs: number;
  readonly costSource: string;
  readonly finishReason?: string;
}

export interface ToolCallSummary {
  readonly toolCallId: string;
  readonly toolName: string;
  readonly startMs: number;
  /** Absent when the call never ended inside the turn. */
  readonly endMs?: number;
  readonly error?: string;
}

export interface ModelBreakdown extends TokenUsage {
  readonly provider: string;
  readonly model: string;
  readonly calls: number;
}

/**
 * The additive part of a turn: what session roll-ups sum. One name per quantity everywhere in the
 * code: `llmCalls` and `toolCalls` are counts (the lists of calls are `llm` and `tools`). Stored turn
 * records keep their historical JSON names (`turn-record.ts` maps them at the edge).
 */
export interface TurnTotals extends TokenUsage {
  readonly llmCalls: number;
  readonly toolCalls: number;
  /** Tool calls that ended with an error. */
  readonly errors: number;
}

export interface TurnAggregate extends TurnTotals {
  readonly session: string;
  readonly turn: string;
  /** 0 for the first close; +1 for each revision caused by a late event within the grace period. */
  readonly revision: number;
  readonly status: TurnStatus;
  readonly agent?: string;
  readonly user?: string;
  readonly startMs: number;
  readonly endMs: number;
  readonly durationMs: number;
  readonly stopReason?: string;
  readonly toolNames: readonly string[];
  readonly models: readonly ModelBreakdown[];
  /** Each LLM call, in event-time order (for `chat` spans). */
  readonly llm: readonly LlmCallSummary[];
  /** Each tool call, in call order (for `execute_tool` spans). */
  readonly tools: readonly ToolCallSummary[];
  readonly firstEventId: string;
  readonly lastEventId: string;
  readonly eventCount: number;
  /** Log position of the event whose processing closed (or revised) the turn. */
  readonly closedAtPos: number;
  /**
   * For a revision: the revision it replaces (without its own `supersedes`), so roll-ups and
   * counters can apply the difference. Not persisted.
   */
  readonly supersedes?: TurnAggregate;
}

export const ZERO_TOTALS: TurnTotals = {
  llmCalls: 0,
  toolCalls: 0,
  inputTokens: 0,
  outputTokens: 0,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
  reasoningTokens: 0,
  cost: 0,
  errors: 0,
};

/** The additive part of an aggregate. */
export function turnTotals(a: TurnTotals): TurnTotals {
  return {
    llmCalls: a.llmCalls,
    toolCalls: a.toolCalls,
    inputTokens: a.inputTokens,
    outputTokens: a.outputTokens,
    cacheReadTokens: a.cacheReadTokens,
    cacheWriteTokens: a.cacheWriteTokens,
    reasoningTokens: a.reasoningTokens,
    cost: a.cost,
    errors: a.errors,
  };
}
