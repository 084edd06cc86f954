/**
 * The per-turn aggregate: what a closed turn window emits. Token names follow the event schema
 * (`inputTokens` excludes cache tokens). Every list is in event-time order (ties by seq, then id),
 * so the aggregate does not depend on arrival order.
 */

export type TurnStatus = 'completed' | 'abandoned';

export interface LlmCallSummary {
  readonly eventId: string;
  readonly provider: string;
  readonly model: string;
  /** Start and end in epoch ms: the event time is the end; start = end − durationMs. */
  readonly startMs: number;
  readonly endMs: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cacheReadTokens: number;
  readonly cacheWriteTokens: number;
  readonly reasoningTokens: number;
  readonly cost: number;
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

export interface ModelBreakdown {
  readonly provider: string;
  readonly model: string;
  readonly calls: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cacheReadTokens: number;
  readonly cacheWriteTokens: number;
  readonly reasoningTokens: number;
  readonly cost: number;
}

/** The additive part of a turn: what session roll-ups sum. */
export interface TurnTotals {
  readonly llmCalls: number;
  readonly toolCalls: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cacheReadTokens: number;
  readonly cacheWriteTokens: number;
  readonly reasoningTokens: number;
  readonly cost: number;
  readonly errors: number;
}

export interface TurnAggregate {
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
  readonly toolCallCount: number;
  readonly toolNames: readonly string[];
  readonly llmCallCount: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cacheReadTokens: number;
  readonly cacheWriteTokens: number;
  readonly reasoningTokens: number;
  readonly cost: number;
  /** Tool calls that ended with an error. */
  readonly errors: number;
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
export function turnTotals(a: TurnAggregate): TurnTotals {
  return {
    llmCalls: a.llmCallCount,
    toolCalls: a.toolCallCount,
    inputTokens: a.inputTokens,
    outputTokens: a.outputTokens,
    cacheReadTokens: a.cacheReadTokens,
    cacheWriteTokens: a.cacheWriteTokens,
    reasoningTokens: a.reasoningTokens,
    cost: a.cost,
    errors: a.errors,
  };
}

/**
 * A turn as the state store keeps it: the aggregate without its per-call lists (`llm`, `tools`)
 * and without `supersedes`. The lists are for spans; the log can always re-derive them (replay),
 * and leaving them out keeps a stored turn a few hundred bytes instead of kilobytes.
 */
export type TurnRecord = Omit<TurnAggregate, 'supersedes' | 'llm' | 'tools'>;

export function turnRecord(a: TurnAggregate): TurnRecord {
  const { supersedes: _s, llm: _l, tools: _t, ...record } = a;
  return record;
}
