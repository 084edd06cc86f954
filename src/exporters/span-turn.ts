import type { LlmCallSummary, ToolCallSummary, TurnAggregate } from '../model/turn-aggregate.ts';

/** An LLM call as its `chat` span reads it. */
export type SpanLlmCall = Pick<
  LlmCallSummary,
  | 'eventId'
  | 'provider'
  | 'model'
  | 'startMs'
  | 'endMs'
  | 'inputTokens'
  | 'outputTokens'
  | 'cacheReadTokens'
  | 'cacheWriteTokens'
  | 'reasoningTokens'
  | 'cost'
  | 'costSource'
  | 'finishReason'
>;

/**
 * A turn as its spans read it (`turnSpanShapes`): what a span holds and nothing else, so the span
 * thread is sent only this (`packSpanTurns`). A `TurnAggregate` is one.
 */
export type SpanTurn = Pick<
  TurnAggregate,
  | 'session'
  | 'turn'
  | 'revision'
  | 'status'
  | 'agent'
  | 'startMs'
  | 'endMs'
  | 'stopReason'
  | 'llmCalls'
  | 'toolCalls'
  | 'inputTokens'
  | 'outputTokens'
  | 'cacheReadTokens'
  | 'cacheWriteTokens'
  | 'cost'
> & {
  readonly llm: readonly SpanLlmCall[];
  readonly tools: readonly ToolCallSummary[];
};

/** A batch of `SpanTurn`s as one flat array of strings, numbers and `undefined` (see `packSpanTurns`). */
export type PackedSpanTurns = readonly (string | number | undefined)[];

/**
 * The turns as one flat array of their values, in a fixed order. Posting it to a worker thread
 * costs about a third of posting the aggregates themselves (measured: 5–7 instead of 8–11 µs a turn
 * in this thread, 3 instead of 9 µs a turn to receive and rebuild in the other): the structured
 * clone writes each object's property names and reads them back into new shapes, per turn, LLM
 * call and tool call; a flat array of primitives has none. `unpackSpanTurns` reverses it.
 */
export function packSpanTurns(turns: readonly SpanTurn[]): PackedSpanTurns {
  const out: (string | number | undefined)[] = [];
  for (const a of turns) {
    out.push(a.session, a.turn, a.revision, a.status, a.agent, a.startMs, a.endMs, a.stopReason, a.llmCalls, a.toolCalls);
    out.push(a.inputTokens, a.outputTokens, a.cacheReadTokens, a.cacheWriteTokens, a.cost, a.llm.length, a.tools.length);
    for (const c of a.llm) {
      out.push(c.eventId, c.provider, c.model, c.startMs, c.endMs, c.inputTokens, c.outputTokens, c.cacheReadTokens, c.cacheWriteTokens);
      out.push(c.reasoningTokens, c.cost, c.costSource, c.finishReason);
    }
    for (const t of a.tools) out.push(t.toolCallId, t.toolName, t.startMs, t.endMs, t.error);
  }
  return out;
}

/**
 * The turns `packSpanTurns` packed. Optional fields that were absent stay absent (not present as
 * `undefined`). Throws on an array that is not such a packing (a bug, not input: both ends are ours).
 */
export function unpackSpanTurns(packed: PackedSpanTurns): SpanTurn[] {
  const r = new Reader(packed);
  const turns: SpanTurn[] = [];
  while (!r.done) {
    // In the order `packSpanTurns` wrote them.
    const session = r.str();
    const turn = r.str();
    const revision = r.num();
    const status = r.str() as SpanTurn['status'];
    const agent = r.opt();
    const startMs = r.num();
    const endMs = r.num();
    const stopReason = r.opt();
    const llmCalls = r.num();
    const toolCalls = r.num();
    const inputTokens = r.num();
    const outputTokens = r.num();
    const cacheReadTokens = r.num();
    const cacheWriteTokens = r.num();
    const cost = r.num();
    const llm: SpanLlmCall[] = new Array(r.num());
    const tools: ToolCallSummary[] = new Array(r.num());
    for (let i = 0; i < llm.length; i++) llm[i] = llmCall(r);
    for (let i = 0; i < tools.length; i++) tools[i] = toolCall(r);
    const t: Mutable<SpanTurn> = {
      session,
      turn,
      revision,
      status,
      startMs,
      endMs,
      llmCalls,
      toolCalls,
      inputTokens,
      outputTokens,
      cacheReadTokens,
      cacheWriteTokens,
      cost,
      llm,
      tools,
    };
    if (agent !== undefined) t.agent = agent;
    if (stopReason !== undefined) t.stopReason = stopReason;
    turns.push(t);
  }
  return turns;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function llmCall(r: Reader): SpanLlmCall {
  const call: Mutable<SpanLlmCall> = {
    eventId: r.str(),
    provider: r.str(),
    model: r.str(),
    startMs: r.num(),
    endMs: r.num(),
    inputTokens: r.num(),
    outputTokens: r.num(),
    cacheReadTokens: r.num(),
    cacheWriteTokens: r.num(),
    reasoningTokens: r.num(),
    cost: r.num(),
    costSource: r.str(),
  };
  const finishReason = r.opt();
  if (finishReason !== undefined) call.finishReason = finishReason;
  return call;
}

function toolCall(r: Reader): ToolCallSummary {
  const call: Mutable<ToolCallSummary> = { toolCallId: r.str(), toolName: r.str(), startMs: r.num() };
  const endMs = r.optNum();
  const error = r.opt();
  if (endMs !== undefined) call.endMs = endMs;
  if (error !== undefined) call.error = error;
  return call;
}

class Reader {
  private at = 0;
  private readonly xs: PackedSpanTurns;

  constructor(xs: PackedSpanTurns) {
    this.xs = xs;
  }

  get done(): boolean {
    return this.at >= this.xs.length;
  }

  private next(): string | number | undefined {
    if (this.at >= this.xs.length) throw new RangeError(`packed span turns end early (at ${this.at})`);
    return this.xs[this.at++];
  }

  str(): string {
    const v = this.next();
    if (typeof v !== 'string') throw new TypeError(`packed span turns: expected a string at ${this.at - 1}, found ${typeof v}`);
    return v;
  }

  num(): number {
    const v = this.next();
    if (typeof v !== 'number') throw new TypeError(`packed span turns: expected a number at ${this.at - 1}, found ${typeof v}`);
    return v;
  }

  opt(): string | undefined {
    const v = this.next();
    if (v !== undefined && typeof v !== 'string') throw new TypeError(`packed span turns: expected a string or nothing at ${this.at - 1}, found ${typeof v}`);
    return v;
  }

  optNum(): number | undefined {
    const v = this.next();
    if (v !== undefined && typeof v !== 'number') throw new TypeError(`packed span turns: expected a number or nothing at ${this.at - 1}, found ${typeof v}`);
    return v;
  }
}
