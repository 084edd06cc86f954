import type { LlmUsageEvent, TurnScopedEvent } from '../events/step-event.ts';
import type { PricedCost } from '../events/price-usage.ts';
import { addUsage, ZERO_USAGE, type TokenUsage } from '../model/token-usage.ts';
import type { LlmCallSummary, ModelBreakdown, ToolCallSummary, TurnAggregate, TurnStatus } from '../model/turn-aggregate.ts';

/** Event-time order key: time, then seq (absent sorts first), then id. */
interface OrderKey {
  readonly t: number;
  readonly s: number;
  readonly id: string;
}

function before(a: OrderKey, b: OrderKey): boolean {
  if (a.t !== b.t) return a.t < b.t;
  if (a.s !== b.s) return a.s < b.s;
  return a.id < b.id;
}

function keyOf(e: TurnScopedEvent): OrderKey {
  return { t: e.timeMs, s: e.seq ?? -1, id: e.id };
}

interface LlmRecord extends LlmCallSummary {
  readonly order: OrderKey;
}
interface ToolRecord {
  toolCallId: string;
  toolName: string;
  startMs: number;
  endMs?: number;
  error?: string;
  order: OrderKey;
}

const byOrder = (a: { order: OrderKey }, b: { order: OrderKey }): number => (before(a.order, b.order) ? -1 : before(b.order, a.order) ? 1 : 0);

/**
 * One turn's running state: a mutable accumulator that folds events in any order and produces an
 * aggregate that depends only on the set of events it saw (lists are sorted at emit time).
 * Kept small on purpose: an open turn should cost well under 2 KB.
 */
export class TurnWindow {
  readonly session: string;
  readonly turn: string;
  revision = -1;
  /** Watermark at which the window closed; undefined while open. */
  closedAtWatermark: number | undefined;
  /** Latest event time seen for this turn: drives the idle timeout. */
  lastEventMs = Number.NEGATIVE_INFINITY;
  private startMs = Number.POSITIVE_INFINITY;
  private endMs = Number.NEGATIVE_INFINITY;
  private first: OrderKey | undefined;
  private last: OrderKey | undefined;
  private ended = false;
  private stopReason: string | undefined;
  private eventCount = 0;
  private readonly llm: LlmRecord[] = [];
  private readonly tools: ToolRecord[] = [];
  private previous: TurnAggregate | undefined;

  constructor(session: string, turn: string) {
    this.session = session;
    this.turn = turn;
  }

  get isOpen(): boolean {
    return this.closedAtWatermark === undefined;
  }

  /** Folds one event in. `price` is consulted only for `llm.usage`. */
  add(e: TurnScopedEvent, price: (u: LlmUsageEvent) => PricedCost): void {
    const k = keyOf(e);
    this.eventCount++;
    if (this.first === undefined || before(k, this.first)) this.first = k;
    if (this.last === undefined || before(this.last, k)) this.last = k;
    if (e.timeMs > this.lastEventMs) this.lastEventMs = e.timeMs;
    let startMs = e.timeMs;
    switch (e.type) {
      case 'turn.start':
        break;
      case 'turn.end':
        this.ended = true;
        if (e.stopReason !== undefined) this.stopReason = e.stopReason;
        break;
      case 'llm.usage': {
        startMs = e.timeMs - (e.durationMs ?? 0);
        const priced = price(e);
        this.llm.push({
          order: k,
          eventId: e.id,
          provider: e.provider,
          model: e.model,
          startMs,
          endMs: e.timeMs,
          inputTokens: e.inputTokens,
          outputTokens: e.outputTokens,
          cacheReadTokens: e.cacheReadTokens ?? 0,
          cacheWriteTokens: e.cacheWriteTokens ?? (e.cacheWrite5mTokens ?? 0) + (e.cacheWrite1hTokens ?? 0),
          reasoningTokens: e.reasoningTokens ?? 0,
          cost: priced.cost,
          costSource: priced.source,
          ...(e.finishReason === undefined ? {} : { finishReason: e.finishReason }),
        });
        break;
      }
      case 'tool.start': {
        const rec = this.tools.find((t) => t.toolCallId === e.toolCallId);
        if (rec === undefined) this.tools.push({ toolCallId: e.toolCallId, toolName: e.toolName, startMs: e.timeMs, order: k });
        else {
          rec.startMs = e.timeMs;
          rec.order = k;
        }
        break;
      }
      case 'tool.end': {
        startMs = e.timeMs - (e.durationMs ?? 0);
        let rec = this.tools.find((t) => t.toolCallId === e.toolCallId);
        if (rec === undefined) {
          // An end without a start: the call began durationMs before it ended.
          rec = { toolCallId: e.toolCallId, toolName: e.toolName, startMs, order: { t: startMs, s: k.s, id: k.id } };
          this.tools.push(rec);
        }
        rec.endMs = e.timeMs;
        if (e.error !== undefined && e.error !== false) rec.error = e.error === true ? 'error' : e.error;
        break;
      }
    }
    if (startMs < this.startMs) this.startMs = startMs;
    if (e.timeMs > this.endMs) this.endMs = e.timeMs;
  }

  /**
   * Marks the window closed (first time) or revised (later calls) and returns its aggregate.
   * `closedAtPos` is the log position of the event that caused this emission.
   */
  emit(status: TurnStatus, watermark: number, closedAtPos: number, session: { agent?: string; user?: string } | undefined): TurnAggregate {
    if (this.closedAtWatermark === undefined) this.closedAtWatermark = watermark;
    this.revision++;
    const llmCalls = this.llm.sort(byOrder).map(({ order: _order, ...call }) => call);
    const toolCalls: ToolCallSummary[] = this.tools.sort(byOrder).map((t) => ({
      toolCallId: t.toolCallId,
      toolName: t.toolName,
      startMs: t.startMs,
      ...(t.endMs === undefined ? {} : { endMs: t.endMs }),
      ...(t.error === undefined ? {} : { error: t.error }),
    }));
    const { usage, models } = sumCalls(llmCalls);
    const errors = toolCalls.reduce((n, t) => (t.error === undefined ? n : n + 1), 0);
    const supersedes = this.previous;
    const aggregate: TurnAggregate = {
      session: this.session,
      turn: this.turn,
      revision: this.revision,
      // A late turn.end upgrades an abandoned turn; nothing downgrades a completed one.
      status: this.ended ? 'completed' : status,
      ...(session?.agent === undefined ? {} : { agent: session.agent }),
      ...(session?.user === undefined ? {} : { user: session.user }),
      startMs: this.startMs,
      endMs: this.endMs,
      durationMs: Math.max(0, this.endMs - this.startMs),
      ...(this.stopReason === undefined ? {} : { stopReason: this.stopReason }),
      toolCalls: toolCalls.length,
      toolNames: toolCalls.map((t) => t.toolName),
      llmCalls: llmCalls.length,
      ...usage,
      errors,
      models,
      llm: llmCalls,
      tools: toolCalls,
      firstEventId: this.first?.id ?? '',
      lastEventId: this.last?.id ?? '',
      eventCount: this.eventCount,
      closedAtPos,
      ...(supersedes === undefined ? {} : { supersedes }),
    };
    const { supersedes: _dropped, ...previous } = aggregate;
    this.previous = previous;
    return aggregate;
  }
}

/** The turn's token usage, and the same per (provider, model), in first-call order. */
function sumCalls(calls: readonly LlmCallSummary[]): { usage: TokenUsage; models: ModelBreakdown[] } {
  let usage = ZERO_USAGE;
  const models = new Map<string, ModelBreakdown>();
  for (const c of calls) {
    const call: TokenUsage = {
      inputTokens: c.inputTokens,
      outputTokens: c.outputTokens,
      cacheReadTokens: c.cacheReadTokens,
      cacheWriteTokens: c.cacheWriteTokens,
      reasoningTokens: c.reasoningTokens,
      cost: c.cost,
    };
    usage = addUsage(usage, call);
    const mk = `${c.provider}\u0000${c.model}`;
    const m = models.get(mk) ?? { provider: c.provider, model: c.model, calls: 0, ...ZERO_USAGE };
    models.set(mk, { provider: m.provider, model: m.model, calls: m.calls + 1, ...addUsage(m, call) });
  }
  return { usage, models: [...models.values()] };
}
