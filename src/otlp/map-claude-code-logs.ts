import { otlpEventIds } from './otlp-event-ids.ts';
import type { OtlpLogRecord } from './otlp-log-records.ts';
import { type Attrs, amountOf, countOf, textOf } from './otlp-value.ts';

/** A step event mapped from OTLP, before validation (the Ingestor decodes it like any other input). */
export type MappedEvent = Record<string, unknown> & { readonly id: string; readonly type: string };

/** What became of the log records of one request, by record index. */
export interface MappedLogs {
  /** Events in emit order, each with the index of the record it came from. */
  readonly events: { readonly record: number; readonly event: MappedEvent }[];
  /** Records that are not Claude Code events this mapping knows: counted as rejected in partial_success, kept nowhere. */
  readonly unmapped: { readonly record: number; readonly reason: string }[];
  /** Claude Code records that lack what their mapping needs: rejected and dead-lettered as `invalid_otlp`. */
  readonly invalid: { readonly record: number; readonly message: string; readonly raw: string }[];
}

/** The attributes the Claude Code mapping reads; no other attribute of a record is kept (no prompt text, no tool input). */
const CLAUDE_CODE_ATTRS: ReadonlySet<string> = new Set([
  'session.id',
  'prompt.id',
  'event.sequence',
  'event.timestamp',
  'user.id',
  'model',
  'input_tokens',
  'output_tokens',
  'cache_read_tokens',
  'cache_creation_tokens',
  'cache_creation_5m_tokens',
  'cache_creation_1h_tokens',
  'cost_usd',
  'duration_ms',
  'tool_name',
  'tool_use_id',
  'decision',
  'success',
  'status_code',
]);

export const keepClaudeCodeAttr = (key: string): boolean => CLAUDE_CODE_ATTRS.has(key);

const PREFIX = 'claude_code.';
/** Claude Code events that are known and carry nothing the turn model counts: accepted, no event. */
const IGNORED = new Set(['assistant_response']);
const AGENT = 'claude-code';

interface SessionMemory {
  /** The session's latest prompt, when it started, and the time of its latest record: for its `turn.end`. */
  prompt: string;
  startMs: number;
  lastMs: number;
}

/** The Claude Code events this mapping knows (the others are unmapped). */
const KNOWN = new Set(['user_prompt', 'api_request', 'api_error', 'tool_decision', 'tool_result', 'assistant_response']);

/** Invalid-record signal inside the mapping (turned into an `invalid` entry). */
class MissingField extends Error {}

/**
 * Claude Code's OTLP log events (`claude_code.<name>`, see the README table "OTLP in") to step
 * events with deterministic ids:
 *
 * - `user_prompt` opens the turn `prompt.id` (`turn.start`), and ends the session's previous
 *   prompt (`turn.end` at that prompt's last record). The first record of a session this process
 *   sees also emits `session.start` (agent `claude-code`; its id derives from the session, so a
 *   restart re-sending it is only a duplicate).
 * - `api_request` → `llm.usage` (provider `anthropic`; input excludes cache, as Claude Code
 *   reports it; the 5m/1h cache-write split kept; `cost_usd` as `cost`, `costSource: computed`).
 * - `api_error` → `llm.usage` with 0 tokens and `finishReason: "error"`: the failed call shows in
 *   the turn's calls and spans, and costs nothing.
 * - `tool_result` → `tool.start` (its time minus `duration_ms`) and `tool.end` (`success: false` →
 *   `error: true`); `tool_decision` with `decision: reject` → `tool.start` + `tool.end` with
 *   `error: "rejected"` (an accepted decision adds nothing: its `tool_result` follows).
 * - `assistant_response` is accepted and adds nothing; other names are unmapped.
 *
 * The previous prompt of each session is remembered in memory (bounded); after a restart the
 * open turn closes on idle instead. Turns also close at idle like any other.
 */
export class ClaudeCodeLogMapper {
  readonly #sessions = new Map<string, SessionMemory>();
  readonly #maxSessions: number;

  constructor(options: { maxSessions?: number } = {}) {
    this.#maxSessions = options.maxSessions ?? 10_000;
  }

  /** Maps the records of one request (in event order: Claude Code's `event.sequence`, then time). */
  map(records: readonly OtlpLogRecord[]): MappedLogs {
    const out: MappedLogs = { events: [], unmapped: [], invalid: [] };
    const ordered = [...records].sort((a, b) => (a.timeMs ?? 0) - (b.timeMs ?? 0) || (seqOf(a.attrs) ?? 0) - (seqOf(b.attrs) ?? 0));
    for (const r of ordered) {
      const name = claudeCodeName(r);
      if (name === undefined) {
        out.unmapped.push({ record: r.index, reason: `not a Claude Code event (${short(r.name ?? 'no event name')})` });
        continue;
      }
      try {
        const events = this.#mapOne(name, r);
        if (events === undefined) out.unmapped.push({ record: r.index, reason: `Claude Code event ${short(name)} is not mapped` });
        else for (const event of events) out.events.push({ record: r.index, event });
      } catch (error) {
        if (!(error instanceof MissingField)) throw error;
        out.invalid.push({
          record: r.index,
          message: `claude_code.${name}: ${error.message}`,
          raw: JSON.stringify({ name: r.name, timeMs: r.timeMs, attributes: Object.fromEntries(r.attrs) }),
        });
      }
    }
    return out;
  }

  /** The events of one record; undefined for an event name this mapping does not know. */
  #mapOne(name: string, r: OtlpLogRecord): MappedEvent[] | undefined {
    if (!KNOWN.has(name)) return undefined;
    if (IGNORED.has(name)) return [];
    const a = r.attrs;
    const session = need(textOf(a.get('session.id')), 'session.id');
    const timeMs = r.timeMs ?? timestampOf(a);
    if (timeMs === undefined) throw new MissingField('no time (time_unix_nano or event.timestamp)');
    const seq = seqOf(a);
    const key = seq === undefined ? `t${timeMs}:${name}:${textOf(a.get('prompt.id')) ?? ''}:${textOf(a.get('tool_use_id')) ?? ''}` : `s${seq}`;
    const base = { v: 1, session, time: timeMs, ...(seq === undefined ? {} : { seq }) };
    const events: MappedEvent[] = [];
    if (!this.#sessions.has(session)) {
      const user = textOf(a.get('user.id'));
      events.push({ ...base, id: otlpEventIds.claude(session, 'session.start'), type: 'session.start', agent: AGENT, ...(user === undefined ? {} : { user }) });
    }
    switch (name) {
      case 'user_prompt': {
        const prompt = need(textOf(a.get('prompt.id')), 'prompt.id');
        const prev = this.#sessions.get(session);
        events.push({ ...base, id: otlpEventIds.claude(session, `turn:${prompt}:start`), type: 'turn.start', turn: prompt });
        // An older prompt sent again (an exporter retry) neither ends nor replaces the current one.
        if (prev !== undefined && (prev.prompt === prompt || timeMs < prev.startMs)) return events;
        if (prev !== undefined) {
          events.unshift({ ...base, id: otlpEventIds.claude(session, `turn:${prev.prompt}:end`), type: 'turn.end', turn: prev.prompt, time: prev.lastMs });
        }
        this.#sessions.delete(session);
        this.#remember(session, prompt, timeMs);
        return events;
      }
      case 'api_request':
      case 'api_error':
      case 'tool_result':
      case 'tool_decision': {
        const turn = textOf(a.get('prompt.id')) ?? this.#sessions.get(session)?.prompt;
        if (turn === undefined) throw new MissingField('no prompt.id, and no earlier prompt of this session is known');
        events.push(...stepEvents(name, a, { ...base, turn }, session, key));
        // A late record of an earlier prompt does not make that prompt current again.
        const current = this.#sessions.get(session);
        if (current === undefined || current.prompt === turn) this.#remember(session, turn, timeMs);
        return events;
      }
      default:
        return undefined;
    }
  }

  /** Records a record of the session's current prompt; the least recently seen session is forgotten past the bound. */
  #remember(session: string, prompt: string, timeMs: number): void {
    const prev = this.#sessions.get(session);
    this.#sessions.delete(session);
    const same = prev !== undefined && prev.prompt === prompt;
    this.#sessions.set(session, { prompt, startMs: same ? prev.startMs : timeMs, lastMs: same ? Math.max(prev.lastMs, timeMs) : timeMs });
    if (this.#sessions.size > this.#maxSessions) this.#sessions.delete(this.#sessions.keys().next().value!);
  }
}

type Base = { v: number; session: string; turn: string; time: number; seq?: number };

/** The events of a turn-scoped record (an API call, a tool result or decision). */
function stepEvents(name: string, a: Attrs, base: Base, session: string, key: string): MappedEvent[] {
  const durationMs = amountOf(a.get('duration_ms'));
  const duration = durationMs === undefined ? {} : { durationMs };
  if (name === 'api_request') {
    const tokens = {
      inputTokens: need(countOf(a.get('input_tokens')), 'input_tokens'),
      outputTokens: need(countOf(a.get('output_tokens')), 'output_tokens'),
      cacheReadTokens: countOf(a.get('cache_read_tokens')) ?? 0,
      cacheWriteTokens: countOf(a.get('cache_creation_tokens')) ?? 0,
    };
    const w5m = countOf(a.get('cache_creation_5m_tokens'));
    const w1h = countOf(a.get('cache_creation_1h_tokens'));
    const split = w5m === undefined && w1h === undefined ? {} : { cacheWrite5mTokens: w5m ?? 0, cacheWrite1hTokens: w1h ?? 0 };
    const cost = amountOf(a.get('cost_usd'));
    const model = need(textOf(a.get('model')), 'model');
    const priced = cost === undefined ? {} : { cost, costSource: 'computed' };
    return [
      { ...base, id: otlpEventIds.claude(session, `${key}:llm`), type: 'llm.usage', provider: 'anthropic', model, ...tokens, ...split, ...priced, ...duration },
    ];
  }
  if (name === 'api_error') {
    const model = need(textOf(a.get('model')), 'model');
    const zero = { inputTokens: 0, outputTokens: 0 };
    return [
      { ...base, id: otlpEventIds.claude(session, `${key}:llm`), type: 'llm.usage', provider: 'anthropic', model, ...zero, finishReason: 'error', ...duration },
    ];
  }
  const toolName = need(textOf(a.get('tool_name')), 'tool_name');
  const toolUse = textOf(a.get('tool_use_id'));
  const callId = toolUse ?? key;
  const ids = (kind: string): string => otlpEventIds.claude(session, `tool:${callId}:${kind}`);
  const tool = { toolCallId: callId, toolName };
  if (name === 'tool_decision') {
    if (textOf(a.get('decision'))?.toLowerCase() !== 'reject') return [];
    return [
      { ...base, id: ids('start'), type: 'tool.start', ...tool },
      { ...base, id: ids('end'), type: 'tool.end', ...tool, error: 'rejected' },
    ];
  }
  const failed = a.get('success') === false || textOf(a.get('success'))?.toLowerCase() === 'false';
  return [
    { ...base, id: ids('start'), type: 'tool.start', ...tool, time: Math.max(0, base.time - Math.round(durationMs ?? 0)) },
    { ...base, id: ids('end'), type: 'tool.end', ...tool, ...duration, ...(failed ? { error: true } : {}) },
  ];
}

/**
 * The Claude Code event name of a record (`api_request`), or undefined when it is not one: its
 * name says `claude_code.<name>`, or Claude Code's resource gives a bare `event.name`.
 */
function claudeCodeName(r: OtlpLogRecord): string | undefined {
  if (r.name?.startsWith(PREFIX)) return r.name.slice(PREFIX.length);
  const attr = textOf(r.attrs.get('event.name'));
  if (attr?.startsWith(PREFIX)) return attr.slice(PREFIX.length);
  return r.serviceName === AGENT ? attr : undefined;
}

function need<T>(value: T | undefined, name: string): T {
  if (value === undefined) throw new MissingField(`missing or invalid attribute ${name}`);
  return value;
}

const seqOf = (a: Attrs): number | undefined => countOf(a.get('event.sequence'));

function timestampOf(a: Attrs): number | undefined {
  const t = textOf(a.get('event.timestamp'));
  const ms = t === undefined ? Number.NaN : Date.parse(t);
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

const short = (s: string): string => (s.length <= 64 ? s : `${s.slice(0, 61)}...`);
