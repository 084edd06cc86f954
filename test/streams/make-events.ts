import type {
  LlmUsageEvent,
  LoggedEvent,
  SessionEndEvent,
  SessionStartEvent,
  StateDeleteEvent,
  StateSetEvent,
  StepEvent,
  ToolEndEvent,
  ToolStartEvent,
  TurnEndEvent,
  TurnStartEvent,
} from '../../src/events/step-event.ts';

/**
 * Builders for `LoggedEvent` test values, one per event type. Event time is given as `at`, in ms
 * after `T0`; `time` (RFC 3339) and `timeMs` are always set from it, as `decodeEvent` would. The
 * session defaults to `s1`, the turn (for turn-scoped types) to `t1`, the log position to 0: use
 * `inLogOrder` to number a list the way the log would (arrival order, from 1).
 */

/** Event-time origin of every test event. */
export const T0 = Date.parse('2026-03-01T12:00:00.000Z');

interface Common {
  readonly id: string;
  /** Event time, ms after T0. */
  readonly at: number;
  readonly session?: string;
  readonly seq?: number;
  readonly pos?: number;
  readonly attrs?: Readonly<Record<string, string | number | boolean>>;
}
interface TurnCommon extends Common {
  readonly turn?: string;
}

type EnvelopeKey = 'v' | 'id' | 'type' | 'session' | 'turn' | 'time' | 'timeMs' | 'seq' | 'attrs';
type Fields<E extends StepEvent> = Omit<E, EnvelopeKey>;

function build<E extends StepEvent>(type: E['type'], o: TurnCommon & Fields<E>, turnScoped: boolean): LoggedEvent {
  const { id, at, session = 's1', seq, pos = 0, attrs, turn, ...fields } = o;
  const timeMs = T0 + at;
  const event = {
    v: 1,
    id,
    type,
    session,
    ...(turnScoped ? { turn: turn ?? 't1' } : {}),
    time: new Date(timeMs).toISOString(),
    timeMs,
    ...(seq === undefined ? {} : { seq }),
    ...(attrs === undefined ? {} : { attrs }),
    ...fields,
  } as unknown as E;
  return { pos, event };
}

export const sessionStart = (o: Common & Fields<SessionStartEvent>): LoggedEvent => build<SessionStartEvent>('session.start', o, false);
export const sessionEnd = (o: Common & Fields<SessionEndEvent>): LoggedEvent => build<SessionEndEvent>('session.end', o, false);
export const turnStart = (o: TurnCommon & Fields<TurnStartEvent>): LoggedEvent => build<TurnStartEvent>('turn.start', o, true);
export const turnEnd = (o: TurnCommon & Fields<TurnEndEvent>): LoggedEvent => build<TurnEndEvent>('turn.end', o, true);
export const toolStart = (o: TurnCommon & Fields<ToolStartEvent>): LoggedEvent => build<ToolStartEvent>('tool.start', o, true);
export const toolEnd = (o: TurnCommon & Fields<ToolEndEvent>): LoggedEvent => build<ToolEndEvent>('tool.end', o, true);
export const stateSet = (o: Common & Fields<StateSetEvent>): LoggedEvent => build<StateSetEvent>('state.set', o, false);
export const stateDelete = (o: Common & Fields<StateDeleteEvent>): LoggedEvent => build<StateDeleteEvent>('state.delete', o, false);

/** An LLM call; provider and model default to anthropic / claude-sonnet-4-5. */
export const llmUsage = (
  o: TurnCommon & Omit<Fields<LlmUsageEvent>, 'provider' | 'model'> & { readonly provider?: string; readonly model?: string },
): LoggedEvent => build<LlmUsageEvent>('llm.usage', { provider: 'anthropic', model: 'claude-sonnet-4-5', ...o }, true);

/** The list as the log would hold it: positions 1, 2, … in arrival (array) order. */
export function inLogOrder(events: readonly LoggedEvent[]): LoggedEvent[] {
  return events.map((l, i) => ({ pos: i + 1, event: l.event }));
}

/**
 * A copy with every numeric `cost` field rounded to 1e-10 USD, so hand-computed dollar amounts can
 * be compared exactly: float sums of per-token prices are kept unrounded by the pipeline.
 */
export function roundCosts<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v: unknown) => roundCosts(v)) as T;
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = k === 'cost' && typeof v === 'number' ? Math.round(v * 1e10) / 1e10 : roundCosts(v);
  }
  return out as T;
}
