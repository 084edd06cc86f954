import type { LlmUsageEvent, TurnScopedEvent } from '../events/step-event.ts';
import type { PricedCost } from '../events/price-usage.ts';
import { sumCalls } from '../model/sum-calls.ts';
import type { ToolCallSummary, TurnAggregate, TurnStatus } from '../model/turn-aggregate.ts';
import { finiteOrNull, type SnapshotReader } from './snapshot-reader.ts';
import { textOf, type SnapshotText } from './snapshot-text.ts';
import {
  appended,
  before,
  llmCall,
  llmOrder,
  llmRecord,
  shared,
  sortedInPlace,
  toolEndMs,
  toolOrder,
  withToolEnd,
  withToolStart,
  type LlmRecord,
  type OrderKey,
  type ToolRecord,
} from './turn-records.ts';
import type { EmitMeta, LlmSnapshot, ToolSnapshot, TurnWindowSnapshot } from './turn-window-snapshot.ts';

export type { TurnWindowSnapshot } from './turn-window-snapshot.ts';

/** Takes a window's snapshot later (`DeferredSnapshots`): handed it before the window first changes. */
export interface SnapshotPin {
  capture(w: TurnWindow, snapshot: TurnWindowSnapshot): void;
}

/**
 * One turn's running state: a mutable accumulator that folds events in any order and produces an
 * aggregate that depends only on the set of events it saw (lists are sorted at emit time).
 * Kept small on purpose: an open turn should cost well under 2 KB.
 */
export class TurnWindow {
  readonly session: string;
  readonly turn: string;
  private revision = -1;
  private startMs = Number.POSITIVE_INFINITY;
  /** The latest event time: the last key's. */
  private get endMs(): number {
    return this.lastId === undefined ? Number.NEGATIVE_INFINITY : this.lastT;
  }
  /** The first and last events' keys (time, seq, id) inline; no id: no event yet. */
  private firstT = 0;
  private firstS = 0;
  private firstId: string | undefined;
  private lastT = 0;
  private lastS = 0;
  private lastId: string | undefined;
  private ended = false;
  private stopReason: string | undefined;
  private eventCount = 0;
  private llm: LlmRecord[] = [];
  private tools: ToolRecord[] = [];
  private previous: TurnAggregate | undefined;
  /** What the latest emission was made of beside the window's state: enough to rebuild `previous` after a restore. */
  private emitted: EmitMeta | undefined;
  /**
   * Set by `restore`: the latest aggregate is rebuilt from the state only when something needs it
   * (the next event or emission). Most restored windows are closed turns waiting out their grace
   * that never see another event; building all their aggregates made restarts ~0.3 s slower per
   * 16k held turns.
   */
  /**
   * Set by `restoreText`: the window's snapshot as JSON text, parsed only when the window is first
   * used. A restart restores every turn closed within the grace period; most never see another
   * event, and parsing and building them all was most of a restart's cost (and its garbage).
   */
  private unparsed: { readonly text: SnapshotText; readonly r: SnapshotReader; readonly where: string } | undefined;
  private unbuiltPrevious: { readonly status: TurnStatus; readonly pos: number; readonly session: { agent?: string; user?: string } } | undefined;
  /**
   * `snapshotText` as made for the previous checkpoint, while nothing changed since (`add` and
   * `emit` drop it): a closed turn is held for its whole grace period and every checkpoint in it
   * wrote its text again (~4 % of a busy Kafka worker's time at a checkpoint every 20k events).
   */
  private text: string | undefined;

  /** Set while checkpoints defer this window's snapshot (see `DeferredSnapshots`). */
  private pinnedBy: SnapshotPin[] | undefined;

  constructor(session: string, turn: string) {
    this.session = session;
    this.turn = turn;
  }

  /** `by` takes this window's snapshot later: it gets it before the window first changes. */
  pin(by: SnapshotPin): void {
    this.pinnedBy ??= [];
    this.pinnedBy.push(by);
  }

  /** `by` took the snapshot itself (the window did not change since it pinned it). */
  unpin(by: SnapshotPin): void {
    const left = this.pinnedBy?.filter((p) => p !== by);
    this.pinnedBy = left === undefined || left.length === 0 ? undefined : left;
  }

  private setFirst(t: number, s: number, id: string): void {
    this.firstT = t;
    this.firstS = s;
    this.firstId = id;
  }

  private setLast(t: number, s: number, id: string): void {
    this.lastT = t;
    this.lastS = s;
    this.lastId = id;
  }

  /** Folds one event in. `price` is consulted only for `llm.usage`. */
  add(e: TurnScopedEvent, price: (u: LlmUsageEvent) => PricedCost): void {
    this.changing();
    const seq = e.seq ?? -1;
    this.eventCount++;
    if (this.firstId === undefined || before(e.timeMs, seq, e.id, this.firstT, this.firstS, this.firstId)) this.setFirst(e.timeMs, seq, e.id);
    if (this.lastId === undefined || before(this.lastT, this.lastS, this.lastId, e.timeMs, seq, e.id)) this.setLast(e.timeMs, seq, e.id);
    let startMs = e.timeMs;
    switch (e.type) {
      case 'turn.start':
        break;
      case 'turn.end':
        this.ended = true;
        if (e.stopReason !== undefined) this.stopReason = e.stopReason;
        break;
      case 'llm.usage': {
        const rec = llmRecord(e, seq, price);
        startMs = rec.endMs - rec.durationMs;
        this.llm = appended(this.llm, rec);
        break;
      }
      case 'tool.start':
        this.tools = withToolStart(this.tools, e, seq);
        break;
      case 'tool.end':
        startMs = e.timeMs - (e.durationMs ?? 0);
        this.tools = withToolEnd(this.tools, e, seq);
        break;
    }
    if (startMs < this.startMs) this.startMs = startMs;
  }

  /**
   * The aggregate of the turn's close (first call) or of a revision (later calls), superseding the
   * previous one. `closedAtPos` is the log position of the event that caused this emission.
   */
  emit(status: TurnStatus, closedAtPos: number, session: { agent?: string; user?: string } | undefined): TurnAggregate {
    this.changing();
    this.revision++;
    const agg = this.build(status, closedAtPos, session);
    const aggregate = this.previous === undefined ? agg : { ...agg, supersedes: this.previous };
    this.previous = agg;
    this.emitted = [agg.status, closedAtPos, session?.agent ?? null, session?.user ?? null];
    return aggregate;
  }

  /**
   * `emit` for a close whose effects are durable already (a rebuild up to the committed position):
   * the same change of state, but the aggregate, which nobody would read, is built only if a later
   * revision must supersede it (as after a restore).
   */
  emitQuietly(status: TurnStatus, closedAtPos: number, session: { agent?: string; user?: string } | undefined): void {
    this.changing();
    this.revision++;
    // As `build` leaves them (sorted in place), so the state and its snapshot are the same as after `emit`.
    sortedInPlace(this.llm, llmOrder);
    sortedInPlace(this.tools, toolOrder);
    this.previous = undefined;
    this.emittedUnbuilt(this.ended ? 'completed' : status, closedAtPos, session?.agent, session?.user);
  }

  /** The latest emission, its aggregate to be built from the state only when needed (a restore, a quiet emit). */
  private emittedUnbuilt(status: TurnStatus, pos: number, agent: string | undefined, user: string | undefined): void {
    this.unbuiltPrevious = { status, pos, session: { ...(agent === undefined ? {} : { agent }), ...(user === undefined ? {} : { user }) } };
    this.emitted = [status, pos, agent ?? null, user ?? null];
  }

  /** Before the state changes: a checkpoint that pinned it gets its snapshot, it is made whole (`ready`), and its cached checkpoint text dropped. */
  private changing(): void {
    const pinned = this.pinnedBy;
    if (pinned !== undefined) {
      this.pinnedBy = undefined;
      const snapshot = this.snapshot();
      for (const by of pinned) by.capture(this, snapshot);
    }
    this.ready();
    this.text = undefined;
  }

  /** A restored window made whole before it is used: its state parsed, its latest aggregate rebuilt. */
  private ready(): void {
    this.parse();
    this.buildPrevious();
  }

  /** The restored latest aggregate, built from the state it was emitted with (before that state changes). */
  private buildPrevious(): void {
    const p = this.unbuiltPrevious;
    if (p === undefined) return;
    this.unbuiltPrevious = undefined;
    this.previous = this.build(p.status, p.pos, p.session);
  }

  /** The aggregate of the current state at the current revision, without `supersedes`. */
  private build(status: TurnStatus, closedAtPos: number, session: { agent?: string; user?: string } | undefined): TurnAggregate {
    const llmCalls = sortedInPlace(this.llm, llmOrder).map(llmCall);
    const toolCalls: ToolCallSummary[] = sortedInPlace(this.tools, toolOrder).map((t) => ({
      toolCallId: t.toolCallId,
      toolName: t.toolName,
      startMs: t.startMs,
      ...(t.durationMs === undefined ? {} : { endMs: toolEndMs(t) }),
      ...(t.error === undefined ? {} : { error: t.error }),
    }));
    const { usage, models } = sumCalls(llmCalls);
    const errors = toolCalls.reduce((n, t) => (t.error === undefined ? n : n + 1), 0);
    return {
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
      firstEventId: this.firstId ?? '',
      lastEventId: this.lastId ?? '',
      eventCount: this.eventCount,
      closedAtPos,
    };
  }

  /** The window's snapshot as JSON text: what `restoreText` takes (kept as given while unparsed). */
  snapshotText(): SnapshotText {
    if (this.unparsed !== undefined) return this.unparsed.text;
    this.text ??= JSON.stringify(this.snapshot());
    return this.text;
  }

  /** Fills the window from its snapshot text, if it was restored from one and not used since. */
  private parse(): void {
    const u = this.unparsed;
    if (u === undefined) return;
    this.unparsed = undefined;
    let data: unknown;
    try {
      data = JSON.parse(textOf(u.text));
    } catch {
      u.r.fail(u.where, 'is not JSON');
    }
    TurnWindow.fill(this, data, u.r, u.where);
  }

  /**
   * This window of a CLOSED turn as its snapshot text only (the text it would checkpoint anyway), for
   * the rest of its grace period: one string instead of the ~60 objects of its records and latest
   * aggregate, which every major GC marked again. Parsed back if the turn sees another event
   * (`restoreText`'s path, which every checkpoint restore takes too).
   */
  compacted(r: SnapshotReader): TurnWindow {
    return this.unparsed === undefined ? TurnWindow.restoreText(this.session, this.turn, this.snapshotText(), r, 'a closed turn held as text') : this;
  }

  /** A window restored from its snapshot text; parsed (and checked) when first used. */
  static restoreText(session: string, turn: string, text: SnapshotText, r: SnapshotReader, where: string): TurnWindow {
    const w = new TurnWindow(session, turn);
    w.unparsed = { text, r, where };
    return w;
  }

  /** The window as plain data (see `TurnWindowSnapshot`). */
  snapshot(): TurnWindowSnapshot {
    this.parse();
    return [
      this.revision,
      finiteOrNull(this.startMs),
      finiteOrNull(this.endMs),
      this.firstId === undefined ? null : [this.firstT, this.firstS, this.firstId],
      this.lastId === undefined ? null : [this.lastT, this.lastS, this.lastId],
      this.ended,
      this.stopReason ?? null,
      this.eventCount,
      this.llm.map(
        (c): LlmSnapshot => [
          [c.endMs, c.seq, c.eventId],
          c.eventId,
          c.provider,
          c.model,
          c.endMs - c.durationMs,
          c.endMs,
          c.inputTokens,
          c.outputTokens,
          c.cacheReadTokens,
          c.cacheWriteTokens,
          c.reasoningTokens,
          c.cost,
          c.costSource,
          c.finishReason ?? null,
        ],
      ),
      this.tools.map((t): ToolSnapshot => [t.toolCallId, t.toolName, t.startMs, toolEndMs(t) ?? null, t.error ?? null, [t.startMs, t.seq, t.orderId]]),
      this.emitted ?? null,
    ];
  }

  /** A window of turn (`session`, `turn`) with a snapshot's state. Throws (through `r`) on a wrong shape. */
  static restore(session: string, turn: string, data: unknown, r: SnapshotReader, where: string): TurnWindow {
    const w = new TurnWindow(session, turn);
    TurnWindow.fill(w, data, r, where);
    return w;
  }

  private static fill(w: TurnWindow, data: unknown, r: SnapshotReader, where: string): void {
    const [revision, startMs, endMs, first, last, ended, stopReason, eventCount, llm, tools, emitted] = r.array(data, where, 11);
    const order = (x: unknown, at: string): OrderKey => {
      const [t, s, id] = r.array(x, at, 3);
      return { t: r.number(t, at), s: r.number(s, at), id: r.string(id, at) };
    };
    w.revision = r.number(revision, `${where} revision`);
    w.startMs = r.numberOr(startMs, `${where} startMs`, Number.POSITIVE_INFINITY);
    r.numberOr(endMs, `${where} endMs`, Number.NEGATIVE_INFINITY); // checked; the window's end is its last key's time
    if (first !== null) {
      const k = order(first, `${where} first`);
      w.setFirst(k.t, k.s, k.id);
    }
    if (last !== null) {
      const k = order(last, `${where} last`);
      w.setLast(k.t, k.s, k.id);
    }
    w.ended = r.boolean(ended, `${where} ended`);
    w.stopReason = r.optionalString(stopReason, `${where} stopReason`);
    w.eventCount = r.number(eventCount, `${where} eventCount`);
    w.llm = r.array(llm, `${where} llm`).map((x, i) => restoreLlm(x, r, `${where} llm[${i}]`, order));
    w.tools = r.array(tools, `${where} tools`).map((x, i): ToolRecord => {
      const at = `${where} tools[${i}]`;
      const [toolCallId, toolName, start, end, error, k] = r.array(x, at, 6);
      const key = order(k, at);
      return {
        toolCallId: r.string(toolCallId, at),
        toolName: r.string(toolName, at),
        startMs: r.number(start, at),
        durationMs: end === null ? undefined : r.number(end, at) - r.number(start, at),
        error: error === null ? undefined : r.string(error, at),
        // The key's time is the start: only its seq and id are read.
        seq: key.s,
        orderId: key.id,
      };
    });
    if (emitted !== null) {
      // Every emission happens as the event that caused it is folded in, so the state is still the one
      // the latest aggregate showed: rebuilding it gives the `supersedes` of the next revision.
      const at = `${where} emitted`;
      const [status, closedAtPos, agent, user] = r.array(emitted, at, 4);
      if (status !== 'completed' && status !== 'abandoned') r.fail(at, 'has no turn status');
      const a = r.optionalString(agent, at);
      const u = r.optionalString(user, at);
      w.emittedUnbuilt(status, r.number(closedAtPos, at), a, u);
    }
  }
}

/** An LLM record from its snapshot (its key's time and id are the call's end and event id: only its seq is read). */
function restoreLlm(x: unknown, r: SnapshotReader, at: string, order: (x: unknown, at: string) => OrderKey): LlmRecord {
  const [k, eventId, provider, model, startMs, endMs, inputTokens, outputTokens, cacheRead, cacheWrite, reasoning, cost, costSource, finishReason] = r.array(
    x,
    at,
    14,
  );
  return {
    seq: order(k, at).s,
    eventId: r.string(eventId, at),
    provider: shared(r.string(provider, at)),
    model: shared(r.string(model, at)),
    // end - (end - start) gives the start back exactly: two event times are within a factor of 2 (Sterbenz), small integers are exact.
    durationMs: r.number(endMs, at) - r.number(startMs, at),
    endMs: r.number(endMs, at),
    inputTokens: r.number(inputTokens, at),
    outputTokens: r.number(outputTokens, at),
    cacheReadTokens: r.number(cacheRead, at),
    cacheWriteTokens: r.number(cacheWrite, at),
    reasoningTokens: r.number(reasoning, at),
    cost: r.number(cost, at),
    costSource: r.string(costSource, at),
    finishReason: r.optionalString(finishReason, at),
  };
}
