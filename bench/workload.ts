/**
 * Deterministic synthetic traffic for the benchmarks: the NDJSON lines a busy turnstream server
 * would receive from many agents at once. Same options (incl. seed) → byte-identical lines.
 *
 * Shape: `sessions` concurrent sessions, each holding 2–4 open turns; each turn is `turn.start`,
 * 5–20 step events (llm.usage with cache read/write tokens, tool.start/tool.end pairs with ~5 %
 * errors, the odd session-scoped state.set), then `turn.end`. Each emitted event belongs to an open
 * turn picked at random, so sessions and turns interleave the way a server sees them. A session
 * lives 3–12 turns, then ends and a new one starts. Event time advances by exponential gaps at
 * `eventTimeRate` events per second (event time, not wall time).
 */

/** A small, fast, seedable PRNG (mulberry32). */
export function createRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface WorkloadOptions {
  readonly events: number;
  readonly sessions?: number;
  readonly seed?: number;
  /** Event-time rate (events per event-time second). Default 1.5 × sessions. */
  readonly eventTimeRate?: number;
  /** Event time of the first event (epoch ms). Must be in the past (decode rejects future skew). */
  readonly startMs?: number;
  /**
   * Receives each line instead of the returned `lines` (left empty): for workloads too large to
   * hold in memory (bench/make-history.ts streams 10M events into a store).
   */
  readonly onLine?: (line: string) => void;
}

export interface WorkloadStats {
  readonly events: number;
  readonly bytes: number;
  readonly minLineBytes: number;
  readonly maxLineBytes: number;
  readonly byType: Record<string, number>;
  readonly sessionsStarted: number;
  readonly turnsClosed: number;
  readonly turnsLeftOpen: number;
  readonly eventTimeSpanS: number;
}

export interface Workload {
  readonly lines: string[];
  readonly stats: WorkloadStats;
}

/** 2026-11-01T00:00:00Z: fixed so the workload is deterministic; in the past, so decode accepts it. */
export const DEFAULT_START_MS = Date.UTC(2026, 10, 1);

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const AGENTS = ['claude-code', 'support-bot', 'research-agent', 'sql-agent'] as const;
const TOOLS = ['Read', 'Edit', 'Bash', 'Grep', 'Glob', 'Write', 'WebFetch', 'search_kb', 'lookup_order'] as const;
const TOOL_ERRORS = ['exit code 1', 'timeout', 'permission denied', 'not found'] as const;
/** [provider, model, weight, usesPromptCache, reasoning] */
const MODELS: readonly (readonly [string, string, number, boolean, boolean])[] = [
  ['anthropic', 'claude-sonnet-4-5', 0.5, true, false],
  ['anthropic', 'claude-haiku-4-5', 0.15, true, false],
  ['anthropic', 'claude-opus-4-5', 0.1, true, false],
  ['openai', 'gpt-5', 0.1, false, true],
  ['openai', 'gpt-5-mini', 0.08, false, true],
  ['google', 'gemini-2.5-flash', 0.07, false, false],
];

interface Turn {
  readonly session: Session;
  readonly id: string;
  /** Step events left before turn.end. */
  stepsLeft: number;
  toolCalls: number;
  /** Open tool call: its id, name and start time. */
  openTool: { id: string; name: string; startMs: number } | undefined;
  llmCalls: number;
  started: boolean;
}

interface Session {
  readonly id: string;
  readonly model: readonly [string, string, number, boolean, boolean];
  readonly agent: string;
  seq: number;
  turnsLeft: number;
  turnCounter: number;
  openTurns: number;
  /** Grows through the session, like a real conversation's prompt cache. */
  context: number;
}

/** Generates the workload; see the module comment for its shape. */
export function generateWorkload(o: WorkloadOptions): Workload {
  const sessionsTarget = o.sessions ?? 2000;
  const rnd = createRandom(o.seed ?? 42);
  const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const randomChars = (n: number): string => {
    let s = '';
    for (let i = 0; i < n; i++) s += CROCKFORD[Math.floor(rnd() * 32)];
    return s;
  };
  /** A ULID: 48-bit ms timestamp (10 chars), then 80 random bits (16 chars). */
  const ulid = (ms: number): string => {
    let t = '';
    for (let i = 0, v = Math.floor(ms); i < 10; i++, v = Math.floor(v / 32)) t = CROCKFORD[v % 32]! + t;
    return t + randomChars(16);
  };
  const pickModel = (): Session['model'] => {
    let r = rnd();
    for (const m of MODELS) {
      r -= m[2];
      if (r < 0) return m;
    }
    return MODELS[0]!;
  };
  const meanGapMs = 1000 / (o.eventTimeRate ?? sessionsTarget * 1.5);
  let now = o.startMs ?? DEFAULT_START_MS;

  const lines: string[] = [];
  let count = 0;
  const byType: Record<string, number> = {};
  let bytes = 0,
    minLine = Number.POSITIVE_INFINITY,
    maxLine = 0,
    sessionsStarted = 0,
    turnsClosed = 0;
  const open: Turn[] = [];

  const emit = (s: Session, type: string, turn: string | undefined, fields: Record<string, unknown>): void => {
    if (count >= o.events) return;
    now += -Math.log(1 - rnd()) * meanGapMs;
    const head = {
      v: 1,
      id: ulid(now),
      type,
      session: s.id,
      ...(turn === undefined ? {} : { turn }),
      time: new Date(Math.floor(now)).toISOString(),
      seq: s.seq++,
    };
    const line = JSON.stringify({ ...head, ...fields });
    count++;
    if (o.onLine === undefined) lines.push(line);
    else o.onLine(line);
    byType[type] = (byType[type] ?? 0) + 1;
    bytes += line.length;
    if (line.length < minLine) minLine = line.length;
    if (line.length > maxLine) maxLine = line.length;
  };

  const openTurn = (s: Session): void => {
    s.turnsLeft--;
    s.openTurns++;
    open.push({ session: s, id: `turn-${++s.turnCounter}`, stepsLeft: int(5, 20), toolCalls: 0, openTool: undefined, llmCalls: 0, started: false });
  };

  const startSession = (): void => {
    const s: Session = {
      id: `sess_${randomChars(20).toLowerCase()}`,
      model: pickModel(),
      agent: pick(AGENTS),
      seq: 0,
      turnsLeft: int(3, 12),
      turnCounter: 0,
      openTurns: 0,
      context: int(2000, 12000),
    };
    sessionsStarted++;
    emit(s, 'session.start', undefined, { agent: s.agent, user: `user-${int(1, 500)}` });
    const concurrent = Math.min(int(2, 4), s.turnsLeft);
    for (let i = 0; i < concurrent; i++) openTurn(s);
  };

  const llmUsage = (t: Turn, last: boolean): void => {
    const s = t.session;
    // Mostly the session's model; some calls go to a small model (sub-agents, summaries).
    const [provider, model, , cached, reasoning] = rnd() < 0.15 ? MODELS[1]! : s.model;
    s.context += int(200, 4000);
    const inputTokens = int(20, 2500);
    const outputTokens = int(40, 1800);
    const fields: Record<string, unknown> = { step: ++t.llmCalls, provider, model, inputTokens, outputTokens };
    if (cached) {
      fields['cacheReadTokens'] = s.context;
      if (rnd() < 0.3) fields['cacheWriteTokens'] = int(500, 6000);
    } else if (rnd() < 0.6) fields['cacheReadTokens'] = Math.floor(s.context * 0.8);
    if (reasoning) fields['reasoningTokens'] = Math.floor(outputTokens * rnd() * 0.6);
    fields['finishReason'] = last ? (provider === 'anthropic' ? 'end_turn' : 'stop') : 'tool_use';
    fields['durationMs'] = int(300, 9000);
    emit(s, 'llm.usage', t.id, fields);
  };

  const step = (t: Turn): void => {
    const s = t.session;
    if (t.openTool !== undefined) {
      const { id, name, startMs } = t.openTool;
      t.openTool = undefined;
      const fields: Record<string, unknown> = { toolCallId: id, toolName: name, durationMs: Math.max(1, Math.floor(now - startMs)) };
      if (rnd() < 0.05) fields['error'] = pick(TOOL_ERRORS);
      emit(s, 'tool.end', t.id, fields);
    } else if (t.stepsLeft === 1) {
      llmUsage(t, true);
    } else {
      const r = rnd();
      if (r < 0.45 || t.stepsLeft === 2) llmUsage(t, false);
      else if (r < 0.92) {
        t.openTool = { id: `toolu_${randomChars(16).toLowerCase()}`, name: pick(TOOLS), startMs: now };
        t.toolCalls++;
        emit(s, 'tool.start', t.id, { toolCallId: t.openTool.id, toolName: t.openTool.name });
      } else {
        emit(s, 'state.set', undefined, { key: pick(['plan', 'branch', 'cwd', 'todo']), value: { step: t.llmCalls, note: `after ${t.toolCalls} tools` } });
      }
    }
    t.stepsLeft--;
  };

  for (let i = 0; i < sessionsTarget; i++) startSession();
  while (count < o.events) {
    const i = Math.floor(rnd() * open.length);
    const t = open[i]!;
    const s = t.session;
    if (!t.started) {
      t.started = true;
      emit(s, 'turn.start', t.id, {});
    } else if (t.stepsLeft > 0 || t.openTool !== undefined) {
      step(t);
    } else {
      emit(s, 'turn.end', t.id, { stopReason: rnd() < 0.93 ? 'end_turn' : 'max_tokens' });
      turnsClosed++;
      open[i] = open[open.length - 1]!;
      open.pop();
      s.openTurns--;
      if (s.turnsLeft > 0) openTurn(s);
      else if (s.openTurns === 0) {
        emit(s, 'session.end', undefined, { reason: 'completed' });
        startSession();
      }
    }
  }
  return {
    lines,
    stats: {
      events: count,
      bytes,
      minLineBytes: minLine,
      maxLineBytes: maxLine,
      byType,
      sessionsStarted,
      turnsClosed,
      turnsLeftOpen: open.length,
      eventTimeSpanS: Math.round((now - (o.startMs ?? DEFAULT_START_MS)) / 1000),
    },
  };
}

const ID_OFFSET = '{"v":1,"id":"'.length;
const HEX = '0123456789abcdef';

/**
 * The same workload with random UUIDv4 event ids instead of ULIDs (same length class as
 * `crypto.randomUUID()`): what producers that use v4 UUIDs send. Random ids insert all over the
 * log's unique id index, where ULIDs (time-prefixed) append at its end.
 */
export function withRandomUuids(lines: readonly string[], seed = 7): string[] {
  const rnd = createRandom(seed);
  return lines.map((line) => {
    const end = line.indexOf('"', ID_OFFSET);
    let u = '';
    for (let i = 0; i < 32; i++) {
      u += i === 12 ? '4' : i === 16 ? HEX[8 + Math.floor(rnd() * 4)] : HEX[Math.floor(rnd() * 16)];
      if (i === 7 || i === 11 || i === 15 || i === 19) u += '-';
    }
    return line.slice(0, ID_OFFSET) + u + line.slice(end);
  });
}
