/**
 * Step event schema v1, as TypeScript types. The JSON Schema in `event-v1.schema.json` is the
 * source of truth for producers; these types mirror it for the pipeline. `decodeEvent` is the only
 * way an untrusted value becomes a `StepEvent` (validated, then normalised: `timeMs` added).
 */

import type { JsonValue } from '../model/json-value.ts';

// Defined with the domain model (state values are JSON); re-exported for the event types' users.
export type { JsonValue };

interface Envelope {
  readonly v: 1;
  /** Producer-chosen unique id; the idempotency key. */
  readonly id: string;
  /** Session id: the partition key everywhere. */
  readonly session: string;
  readonly turn?: string;
  /** Event time as sent (RFC 3339 string or epoch ms). */
  readonly time: string | number;
  /** Event time in epoch milliseconds, added by `decodeEvent`. */
  readonly timeMs: number;
  readonly seq?: number;
  readonly attrs?: Readonly<Record<string, string | number | boolean>>;
}

export interface SessionStartEvent extends Envelope {
  readonly type: 'session.start';
  readonly agent?: string;
  readonly user?: string;
}
export interface SessionEndEvent extends Envelope {
  readonly type: 'session.end';
  readonly reason?: string;
}
export interface TurnStartEvent extends Envelope {
  readonly type: 'turn.start';
  readonly turn: string;
}
export interface TurnEndEvent extends Envelope {
  readonly type: 'turn.end';
  readonly turn: string;
  readonly stopReason?: string;
}

export type CostSource = 'provider' | 'computed' | 'subscription';
export type AuthKind = 'api-key' | 'oauth' | 'subscription';

/**
 * One LLM call. Token convention (Anthropic): `inputTokens` EXCLUDES cache tokens. The OTel
 * convention (`gen_ai.usage.input_tokens`) includes them: see `otelInputTokens`.
 */
export interface LlmUsageEvent extends Envelope {
  readonly type: 'llm.usage';
  readonly turn: string;
  readonly step?: number;
  readonly provider: string;
  readonly model: string;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cacheReadTokens?: number;
  readonly cacheWriteTokens?: number;
  readonly cacheWrite5mTokens?: number;
  readonly cacheWrite1hTokens?: number;
  readonly reasoningTokens?: number;
  /** USD. When absent, computed from the price table. */
  readonly cost?: number;
  readonly costSource?: CostSource;
  readonly finishReason?: string;
  readonly durationMs?: number;
  readonly auth?: AuthKind;
}
export interface ToolStartEvent extends Envelope {
  readonly type: 'tool.start';
  readonly turn: string;
  readonly toolCallId: string;
  readonly toolName: string;
}
export interface ToolEndEvent extends Envelope {
  readonly type: 'tool.end';
  readonly turn: string;
  readonly toolCallId: string;
  readonly toolName: string;
  readonly durationMs?: number;
  readonly error?: string | boolean;
}
export interface StateSetEvent extends Envelope {
  readonly type: 'state.set';
  readonly key: string;
  readonly value: JsonValue;
}
export interface StateDeleteEvent extends Envelope {
  readonly type: 'state.delete';
  readonly key: string;
}

export type StepEvent =
  | SessionStartEvent
  | SessionEndEvent
  | TurnStartEvent
  | TurnEndEvent
  | LlmUsageEvent
  | ToolStartEvent
  | ToolEndEvent
  | StateSetEvent
  | StateDeleteEvent;

export type StepEventType = StepEvent['type'];

/** Event types that belong to a turn window (they require `turn`). */
export type TurnScopedEvent = TurnStartEvent | TurnEndEvent | LlmUsageEvent | ToolStartEvent | ToolEndEvent;

export const TURN_SCOPED_TYPES: ReadonlySet<string> = new Set(['turn.start', 'turn.end', 'llm.usage', 'tool.start', 'tool.end']);

export function isTurnScoped(event: StepEvent): event is TurnScopedEvent {
  return TURN_SCOPED_TYPES.has(event.type);
}

/** An event as it sits in the log: its position (monotonic per log) and the event. */
export interface LoggedEvent {
  readonly pos: number;
  readonly event: StepEvent;
}
