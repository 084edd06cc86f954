import type { LlmUsageEvent, ToolEndEvent, ToolStartEvent } from '../events/step-event.ts';
import type { PricedCost } from '../events/price-usage.ts';
import type { TokenUsage } from '../model/token-usage.ts';
import type { LlmCallSummary } from '../model/turn-aggregate.ts';

/**
 * What a `TurnWindow` holds per call, kept small (an open turn should cost well under 2 KB): records
 * of one fixed shape with their order keys inline, in lists of exact length while short.
 */

/** Event-time order key: time, then seq (absent sorts first), then id. */
export interface OrderKey {
  readonly t: number;
  readonly s: number;
  readonly id: string;
}

/** Whether key (at, as, aid) sorts before (bt, bs, bid). */
export function before(at: number, as: number, aid: string, bt: number, bs: number, bid: string): boolean {
  if (at !== bt) return at < bt;
  if (as !== bs) return as < bs;
  return aid < bid;
}

/**
 * An LLM call as a window holds it: one fixed shape (every field set, in this order), its order key
 * (endMs, seq, eventId) in its own fields rather than a key object.
 */
export interface LlmRecord extends TokenUsage {
  readonly seq: number;
  readonly eventId: string;
  readonly provider: string;
  readonly model: string;
  /** The call's start is `endMs - durationMs` (an integer as sent: no boxed number per record). */
  readonly durationMs: number;
  readonly endMs: number;
  readonly costSource: string;
  readonly finishReason: string | undefined;
}
/**
 * A tool call; its order key is (startMs, seq, orderId): the time, seq and event id of its start
 * (of its end while no start was seen). Parallel calls often share a time and no seq: the event id
 * keeps them in the producer's order.
 */
export interface ToolRecord {
  readonly toolCallId: string;
  readonly toolName: string;
  startMs: number;
  /** The end is `startMs + durationMs` (undefined: no end seen); a duration, not a time: no boxed number. */
  durationMs: number | undefined;
  error: string | undefined;
  seq: number;
  orderId: string;
}

/**
 * Strings repeated across calls (model and provider names), one copy each: `JSON.parse` makes a new
 * string per event, and an open turn would hold one per call. Bounded: past 4,096 names, not shared.
 */
const names = new Map<string, string>();
export function shared(name: string): string {
  const held = names.get(name);
  if (held !== undefined) return held;
  if (names.size < 4096) names.set(name, name);
  return name;
}

/**
 * `xs` with `x` appended. Short lists are copied to their exact length (a first `push` reserves
 * 17 slots, ~150 bytes, for the 1–3 calls most turns hold); long ones grow in place.
 */
export function appended<T>(xs: T[], x: T): T[] {
  if (xs.length >= 16) {
    xs.push(x);
    return xs;
  }
  return xs.concat([x]);
}

export const llmOrder = (a: LlmRecord, b: LlmRecord): number =>
  before(a.endMs, a.seq, a.eventId, b.endMs, b.seq, b.eventId) ? -1 : before(b.endMs, b.seq, b.eventId, a.endMs, a.seq, a.eventId) ? 1 : 0;
export const toolOrder = (a: ToolRecord, b: ToolRecord): number =>
  before(a.startMs, a.seq, a.orderId, b.startMs, b.seq, b.orderId) ? -1 : before(b.startMs, b.seq, b.orderId, a.startMs, a.seq, a.orderId) ? 1 : 0;

/** The call as an aggregate shows it (`finishReason` only when known). */
export function llmCall(c: LlmRecord): LlmCallSummary {
  const call = {
    eventId: c.eventId,
    provider: c.provider,
    model: c.model,
    startMs: c.endMs - c.durationMs,
    endMs: c.endMs,
    inputTokens: c.inputTokens,
    outputTokens: c.outputTokens,
    cacheReadTokens: c.cacheReadTokens,
    cacheWriteTokens: c.cacheWriteTokens,
    reasoningTokens: c.reasoningTokens,
    cost: c.cost,
    costSource: c.costSource,
  };
  return c.finishReason === undefined ? call : { ...call, finishReason: c.finishReason };
}

/** A tool call's end time, or undefined (start plus duration: exact for event times, see `restoreLlm`). */
export const toolEndMs = (t: ToolRecord): number | undefined => (t.durationMs === undefined ? undefined : t.startMs + t.durationMs);

/** An LLM call's record (one literal: every record has the same shape). */
export function llmRecord(e: LlmUsageEvent, seq: number, price: (u: LlmUsageEvent) => PricedCost): LlmRecord {
  const priced = price(e);
  return {
    seq,
    eventId: e.id,
    provider: shared(e.provider),
    model: shared(e.model),
    durationMs: e.durationMs ?? 0,
    endMs: e.timeMs,
    inputTokens: e.inputTokens,
    outputTokens: e.outputTokens,
    cacheReadTokens: e.cacheReadTokens ?? 0,
    cacheWriteTokens: e.cacheWriteTokens ?? (e.cacheWrite5mTokens ?? 0) + (e.cacheWrite1hTokens ?? 0),
    reasoningTokens: e.reasoningTokens ?? 0,
    cost: priced.cost,
    costSource: priced.source,
    finishReason: e.finishReason,
  };
}

/** `tools` with a call's start folded in (its record made, or the one an earlier end made given its start). */
export function withToolStart(tools: ToolRecord[], e: ToolStartEvent, seq: number): ToolRecord[] {
  const rec = tools.find((t) => t.toolCallId === e.toolCallId);
  if (rec === undefined)
    return appended(tools, { toolCallId: e.toolCallId, toolName: e.toolName, startMs: e.timeMs, durationMs: undefined, error: undefined, seq, orderId: e.id });
  // The end stays where it was (an end seen before the start): its duration is from the new start.
  if (rec.durationMs !== undefined) rec.durationMs = rec.startMs + rec.durationMs - e.timeMs;
  rec.startMs = e.timeMs;
  rec.seq = seq;
  rec.orderId = e.id;
  return tools;
}

/** `tools` with a call's end folded in; an end without a start makes the record, begun `durationMs` before it ended. */
export function withToolEnd(tools: ToolRecord[], e: ToolEndEvent, seq: number): ToolRecord[] {
  let rec = tools.find((t) => t.toolCallId === e.toolCallId);
  let out = tools;
  if (rec === undefined) {
    rec = {
      toolCallId: e.toolCallId,
      toolName: e.toolName,
      startMs: e.timeMs - (e.durationMs ?? 0),
      durationMs: undefined,
      error: undefined,
      seq,
      orderId: e.id,
    };
    out = appended(tools, rec);
  }
  rec.durationMs = e.timeMs - rec.startMs;
  if (e.error !== undefined && e.error !== false) rec.error = e.error === true ? 'error' : e.error;
  return out;
}

/**
 * `list.sort(order)`, skipping the sort when the list is in order already (as it nearly always
 * is: records arrive in order), which spared the sort's scratch array on every emission. The same
 * result either way: the sort is stable.
 */
export function sortedInPlace<T>(list: T[], order: (a: T, b: T) => number): T[] {
  for (let i = 1; i < list.length; i++) if (order(list[i - 1]!, list[i]!) > 0) return list.sort(order);
  return list;
}
