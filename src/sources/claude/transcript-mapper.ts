import { claudeEventIds as ids } from './claude-event-ids.ts';
import type { ImportStats } from './import-stats.ts';
import { iso, RANK, type MappedEvent, type OutgoingEvent } from './mapped-event.ts';
import { blocksOf, userLineKind, type TranscriptLine } from './transcript-line.ts';
import { tokensOf } from './call-tokens.ts';
import type { Attrs, OpenTurn, SentCall, Thread, ToolCall } from './mapper-threads.ts';
import { callCorrection, type LaterLine } from './call-correction.ts';

export interface TranscriptMapperOptions {
  /** Session the file belongs to (a subagent file: its parent's). */
  readonly session: string;
  /** The file is `<session>/subagents/agent-*.jsonl`: all of it is one sidechain. */
  readonly subagentFile: boolean;
  /** Agent id from the file name, when the lines do not carry `agentId`. */
  readonly agentId?: string;
  /** Claude Code's project directory name, recorded on `session.start`. */
  readonly project?: string;
  readonly stats: ImportStats;
}

const MAIN = '';
const RECENT_CALLS = 16;
/** Stop reasons after which the model is done with the prompt (a final answer). */
const ANSWERED = new Set(['end_turn', 'stop_sequence', 'refusal']);

/**
 * Maps the lines of one Claude Code transcript file, in file order, to v1 events. Stateful (it
 * follows a file as it grows): feed lines with `line()`, take the events with `drain()`.
 *
 * - **Turns.** A turn is one prompt the person typed and everything Claude did for it. A user
 *   line that is a tool result, a reminder or slash-command expansion (`isMeta`), a compaction
 *   summary or local-command output is not a prompt (`userLineKind`). A turn is opened by the first
 *   API call after a prompt (its id is the prompt line's uuid, its start the prompt's time), so a
 *   prompt nothing answered (`/clear`) makes no turn; calls with no prompt before them (a file that
 *   starts mid-conversation) get a turn of their own. A turn ends at the next prompt, at an
 *   interruption (`[Request interrupted by user…]`), at Claude Code's `turn_duration` record, or
 *   when its last call asked for no tool and nothing followed it (`seal()`).
 * - **API calls.** One `llm.usage` per (message id, request id), with the values of its LAST line:
 *   every content-block line repeats `usage`, and the early ones carry a streaming placeholder
 *   output count. A call is sent once a later call, prompt or end of turn shows it complete, or at
 *   `seal()`. If a line of an already-sent call turns up later (only when `seal()` was called on a
 *   file still being written), the growth of its counts is sent as a further `llm.usage`
 *   (`claude.continued: true`), so totals stay exact.
 * - **Tools.** `tool.start` per `tool_use` block, `tool.end` per `tool_result` (`is_error` →
 *   `error: true`), both in the turn of the call that asked for the tool.
 * - **Subagents.** Sidechain lines (a subagent file, or in older versions the parent's own file)
 *   keep the parent's session, form their own threads of turns, and carry `claude.sidechain` and
 *   `claude.agent` attributes. `session.start`/`session.end` come only from the main thread.
 *
 * Only ids, names, counts, tokens, stop reasons and times are copied into events: never text.
 */
export class TranscriptMapper {
  private readonly o: TranscriptMapperOptions;
  private readonly threads = new Map<string, Thread>();
  /** Sidechain root per line uuid, for subagent conversations written into the parent's file. */
  private readonly sidechainRoot = new Map<string, string>();
  private readonly tools = new Map<string, ToolCall>();
  private out: MappedEvent[] = [];
  private started = false;
  private sessionEnded = false;
  private version: string | undefined;
  private lastUuid: string | undefined;
  private lastMs = Number.NEGATIVE_INFINITY;

  constructor(options: TranscriptMapperOptions) {
    this.o = options;
  }

  /** Latest line time seen (epoch ms), or -Infinity. */
  get lastLineMs(): number {
    return this.lastMs;
  }

  /** Returns the events produced since the last call, in file order. */
  drain(): MappedEvent[] {
    const events = this.out;
    this.out = [];
    return events;
  }

  /** Folds in one parsed line (`parseTranscriptLine`), in file order. */
  line(line: TranscriptLine, timeMs: number): void {
    if (line.version !== undefined && this.version === undefined && typeof line.version === 'string') this.version = line.version;
    if (typeof line.uuid === 'string') this.lastUuid = line.uuid;
    if (timeMs > this.lastMs) this.lastMs = timeMs;
    this.sessionEnded = false;
    const key = this.threadKey(line);
    if (key === MAIN && !this.started && line.type !== 'system') this.startSession(timeMs);
    const t = this.thread(key, line);
    if (line.type === 'assistant') this.assistant(t, line, timeMs);
    else if (line.type === 'user') this.user(t, line, timeMs);
    else if (line.subtype === 'turn_duration') {
      // Claude Code's own end-of-turn record (2.x): what precedes it is complete.
      this.sendCall(t, false);
      this.endTurn(t, t.turn?.lastStop ?? 'end_turn');
    }
  }

  /**
   * Nothing more is coming for now (end of file, or the file has been quiet): sends the pending
   * call of every thread, and ends the turns whose last call asked for no tool (a final answer).
   */
  seal(): void {
    for (const t of this.threads.values()) this.sendCall(t, true);
  }

  /**
   * Sends the pending calls whose stop reason is written (Claude Code 2.x writes it on every line
   * of a call once the response is complete): their usage is final even though nothing follows
   * them yet. A final answer (a stop reason other than `tool_use`, no tool asked for) ends its
   * turn, as `seal()` would; the session stays open. Lets an import run right after `claude -p`
   * include the last prompt instead of holding it back until the transcript is idle.
   */
  sealFinished(): void {
    for (const t of this.threads.values()) {
      const stop = t.call?.stopReason;
      // max_tokens / pause_turn: Claude Code may go on with another call; left to seal() as before.
      if (stop === 'tool_use') this.sendCall(t, false);
      else if (stop !== undefined && ANSWERED.has(stop)) this.sendCall(t, true);
    }
  }

  /**
   * The session is over (its file has been quiet for the idle timeout): `seal()`, then
   * `session.end` (main files), which closes the session's still-open turns as abandoned.
   * If the file grows again, mapping goes on and a later `finish()` ends it again.
   */
  finish(): void {
    this.seal();
    if (this.sessionEnded || !this.started || this.o.subagentFile || !Number.isFinite(this.lastMs)) return;
    this.sessionEnded = true;
    this.emit(
      {
        v: 1,
        id: ids.sessionEnd(this.o.session, this.lastUuid ?? String(this.lastMs)),
        type: 'session.end',
        session: this.o.session,
        time: iso(this.lastMs),
        reason: 'transcript_idle',
      },
      this.lastMs,
    );
  }

  private threadKey(line: TranscriptLine): string {
    if (this.o.subagentFile) return 'agent';
    if (line.isSidechain !== true) return MAIN;
    const uuid = typeof line.uuid === 'string' ? line.uuid : undefined;
    const parent = typeof line.parentUuid === 'string' ? line.parentUuid : undefined;
    const root = (parent === undefined ? undefined : this.sidechainRoot.get(parent)) ?? parent ?? uuid ?? 'sidechain';
    if (uuid !== undefined) this.sidechainRoot.set(uuid, root);
    return root;
  }

  private thread(key: string, line: TranscriptLine): Thread {
    let t = this.threads.get(key);
    if (t === undefined) {
      const agent = typeof line.agentId === 'string' ? line.agentId : (this.o.agentId ?? key);
      t = {
        attrs: key === MAIN ? undefined : { 'claude.sidechain': true, 'claude.agent': agent },
        turn: undefined,
        ended: undefined,
        prompt: undefined,
        call: undefined,
        lastInputMs: undefined,
        sent: new Map(),
      };
      this.threads.set(key, t);
    }
    return t;
  }

  private startSession(timeMs: number): void {
    this.started = true;
    const attrs: Record<string, string> = {};
    if (this.o.project !== undefined) attrs['claude.project'] = this.o.project;
    if (this.version !== undefined) attrs['claude.version'] = this.version;
    this.emit(
      {
        v: 1,
        id: ids.sessionStart(this.o.session),
        type: 'session.start',
        session: this.o.session,
        time: iso(timeMs),
        agent: 'claude-code',
        ...(Object.keys(attrs).length === 0 ? {} : { attrs }),
      },
      timeMs,
    );
  }

  // long: one assistant line's cases (synthetic, new call, continued call, tool uses, final answer) in the order Claude Code writes them
  private assistant(t: Thread, line: TranscriptLine, timeMs: number): void {
    const message = line.message;
    if (message?.model === '<synthetic>') {
      this.o.stats.skip('synthetic');
      return;
    }
    const tokens = tokensOf(message?.usage);
    if (tokens === undefined || typeof message?.id !== 'string') {
      this.o.stats.skip('no_usage');
      return;
    }
    const requestId = typeof line.requestId === 'string' ? line.requestId : '';
    const key = `${message.id}\u0000${requestId}`;
    const blocks = blocksOf(line);
    const askedForTools = blocks.some((b) => b.type === 'tool_use');
    const stopReason = typeof message.stop_reason === 'string' ? message.stop_reason : undefined;
    let turn: string;
    const pending = t.call;
    if (pending !== undefined && `${pending.messageId}\u0000${pending.requestId}` === key) {
      pending.tokens = tokens; // the last line's usage is the final one
      pending.lastMs = Math.max(pending.lastMs, timeMs);
      pending.askedForTools ||= askedForTools;
      if (stopReason !== undefined) pending.stopReason = stopReason;
      turn = t.turn!.id;
    } else if (t.sent.has(key)) {
      turn = this.continued(t, t.sent.get(key)!, { messageId: message.id, requestId, tokens, askedForTools, lineId: line.uuid ?? String(timeMs), timeMs });
    } else {
      this.sendCall(t, false);
      turn = this.openTurn(t, line.uuid ?? `${message.id}`, timeMs).id;
      t.call = {
        messageId: message.id,
        requestId,
        model: typeof message.model === 'string' && message.model !== '' ? message.model : 'unknown',
        requestStartMs: t.lastInputMs,
        tokens,
        lastMs: timeMs,
        stopReason,
        askedForTools,
      };
    }
    for (const b of blocks) {
      if (b.type !== 'tool_use' || typeof b.id !== 'string' || this.tools.has(b.id)) continue;
      const name = typeof b.name === 'string' && b.name !== '' ? b.name : 'unknown';
      this.tools.set(b.id, { turn, name, startMs: timeMs, attrs: t.attrs, ended: false });
      this.emit(
        {
          v: 1,
          id: ids.toolStart(b.id),
          type: 'tool.start',
          session: this.o.session,
          turn,
          time: iso(timeMs),
          toolCallId: b.id,
          toolName: name,
          ...(t.attrs === undefined ? {} : { attrs: t.attrs }),
        },
        timeMs,
      );
      this.touch(t, turn, timeMs);
    }
  }

  private user(t: Thread, line: TranscriptLine, timeMs: number): void {
    const kind = userLineKind(line);
    if (kind === 'tool_results') {
      for (const b of blocksOf(line)) {
        if (b.type !== 'tool_result') continue;
        const call = typeof b.tool_use_id === 'string' ? this.tools.get(b.tool_use_id) : undefined;
        if (call === undefined) {
          this.o.stats.skip('orphan_tool_result');
          continue;
        }
        if (call.ended) continue;
        call.ended = true;
        const id = b.tool_use_id!;
        this.emit(
          {
            v: 1,
            id: ids.toolEnd(id),
            type: 'tool.end',
            session: this.o.session,
            turn: call.turn,
            time: iso(timeMs),
            toolCallId: id,
            toolName: call.name,
            ...(timeMs >= call.startMs ? { durationMs: timeMs - call.startMs } : {}),
            ...(b.is_error === true ? { error: true } : {}),
            ...(call.attrs === undefined ? {} : { attrs: call.attrs }),
          },
          timeMs,
        );
        this.touch(t, call.turn, timeMs);
      }
    } else if (kind === 'interrupt') {
      this.sendCall(t, false);
      this.endTurn(t, 'interrupted');
    } else if (kind === 'prompt') {
      this.sendCall(t, false);
      // A turn whose last call still asked for tools got no answer: the person moved on.
      this.endTurn(t, t.turn?.lastStop === 'tool_use' ? 'interrupted' : (t.turn?.lastStop ?? 'end_turn'));
      t.prompt = { uuid: typeof line.uuid === 'string' ? line.uuid : `prompt-${this.o.session}-${timeMs}`, ms: timeMs };
      t.ended = undefined;
    }
    t.lastInputMs = timeMs;
  }

  private openTurn(t: Thread, anchor: string, timeMs: number): OpenTurn {
    if (t.turn !== undefined) return t.turn;
    const start = t.prompt ?? { uuid: anchor, ms: timeMs };
    t.prompt = undefined;
    t.turn = { id: start.uuid, lastMs: start.ms, steps: 0, lastStop: undefined };
    const attrs: Attrs = { 'agent.name': 'claude-code', ...t.attrs };
    this.emit({ v: 1, id: ids.turnStart(start.uuid), type: 'turn.start', session: this.o.session, turn: start.uuid, time: iso(start.ms), attrs }, start.ms);
    return t.turn;
  }

  /** Sends the pending call; `quiet`: nothing followed it, so a call without tool use ends its turn. */
  private sendCall(t: Thread, quiet: boolean): void {
    const c = t.call;
    if (c === undefined) return;
    t.call = undefined;
    const turn = t.turn!;
    turn.steps++;
    turn.lastStop = c.askedForTools ? 'tool_use' : (c.stopReason ?? 'end_turn');
    const durationMs = c.requestStartMs !== undefined && c.lastMs >= c.requestStartMs ? c.lastMs - c.requestStartMs : undefined;
    this.emit(
      {
        v: 1,
        id: ids.call(c.messageId, c.requestId),
        type: 'llm.usage',
        session: this.o.session,
        turn: turn.id,
        time: iso(c.lastMs),
        step: turn.steps,
        provider: 'anthropic',
        model: c.model,
        ...c.tokens,
        ...(c.stopReason === undefined ? {} : { finishReason: c.stopReason }),
        ...(durationMs === undefined ? {} : { durationMs }),
        ...(t.attrs === undefined ? {} : { attrs: t.attrs }),
      },
      c.lastMs,
    );
    this.touch(t, turn.id, c.lastMs);
    t.sent.set(`${c.messageId}\u0000${c.requestId}`, { turn: turn.id, model: c.model, tokens: { ...c.tokens } });
    if (t.sent.size > RECENT_CALLS) t.sent.delete(t.sent.keys().next().value!);
    if (quiet && !c.askedForTools) this.endTurn(t, turn.lastStop);
  }

  /** A later line of a call already sent (see `callCorrection`): sends the correction, if any. */
  private continued(t: Thread, sent: SentCall, c: LaterLine): string {
    const correction = callCorrection(t, sent, c, this.o.session);
    if (correction !== undefined) {
      this.emit(correction, c.timeMs);
      this.touch(t, sent.turn, c.timeMs);
    }
    return sent.turn;
  }

  private endTurn(t: Thread, stopReason: string | undefined): void {
    const turn = t.turn;
    if (turn === undefined) return;
    t.turn = undefined;
    t.ended = turn;
    this.emit(
      {
        v: 1,
        id: ids.turnEnd(turn.id),
        type: 'turn.end',
        session: this.o.session,
        turn: turn.id,
        time: iso(turn.lastMs),
        ...(stopReason === undefined ? {} : { stopReason }),
        ...(t.attrs === undefined ? {} : { attrs: t.attrs }),
      },
      turn.lastMs,
    );
  }

  /** Moves the end of the thread's open turn to `timeMs` when the event belongs to it. */
  private touch(t: Thread, turn: string, timeMs: number): void {
    if (t.turn?.id === turn && timeMs > t.turn.lastMs) t.turn.lastMs = timeMs;
  }

  private emit(event: OutgoingEvent, timeMs: number): void {
    this.o.stats.countEvent(event.type);
    this.o.stats.sessions.add(event.session);
    this.out.push({ event, timeMs, rank: RANK[event.type] });
  }
}
