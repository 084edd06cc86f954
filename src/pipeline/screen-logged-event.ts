import { TURN_SCOPED_TYPES, type StepEvent } from '../events/step-event.ts';
import { checkJsonValue, type JsonValueBreach } from '../events/check-json-value.ts';
import { unreadable } from '../log/unreadable-event.ts';
import { NOT_STORED } from '../model/turn-record.ts';
import type { TurnAggregate } from '../model/turn-aggregate.ts';

/**
 * Deepest JSON nesting the processor accepts in a logged event. The decoder now rejects far less
 * deep values at ingest; this bound is for events logged before that limit existed: `JSON.stringify`
 * (state commit, dead letters) overflows the stack somewhere past a few thousand levels.
 */
export const MAX_PROCESSED_DEPTH = 512;

/**
 * Largest magnitude a token count, cost or duration may have to be summed: far beyond any real
 * call, small enough that sums of billions of them stay finite and totals never become `Infinity`.
 */
export const MAX_PROCESSED_AMOUNT = 1e15;

const AMOUNT_FIELDS = [
  'inputTokens',
  'outputTokens',
  'cacheReadTokens',
  'cacheWriteTokens',
  'cacheWrite5mTokens',
  'cacheWrite1hTokens',
  'reasoningTokens',
  'cost',
  'durationMs',
] as const;

/**
 * Why a logged event cannot be processed, or `undefined` when it can. Cheap, iterative and
 * deterministic, so a restart re-screens the log exactly as the first run did (exactly-once
 * dead-lettering). It checks what the operators and the state commit rely on: the envelope's
 * types, a finite event time, JSON nesting within `MAX_PROCESSED_DEPTH`, every number finite (a
 * stored `1e309` is `Infinity`, which JSON would store as `null`) and amounts within bounds.
 */
export function screenLoggedEvent(event: StepEvent): string | undefined {
  const bad = unreadable(event);
  if (bad !== undefined) return bad.message;
  const e = event as unknown as Record<string, unknown>;
  if (e === null || typeof e !== 'object' || Array.isArray(e)) return 'logged event is not a JSON object';
  if (typeof e['id'] !== 'string') return 'logged event has no string "id"';
  if (typeof e['type'] !== 'string') return 'logged event has no string "type"';
  if (typeof e['session'] !== 'string') return 'logged event has no string "session"';
  if (typeof e['timeMs'] !== 'number' || !Number.isFinite(e['timeMs'])) return `logged event time ${String(e['time'])} is not a valid time`;
  if (TURN_SCOPED_TYPES.has(e['type'] as string) && typeof e['turn'] !== 'string') return `logged ${String(e['type'])} event has no string "turn"`;
  if ((e['type'] === 'state.set' || e['type'] === 'state.delete') && typeof e['key'] !== 'string') return `logged ${e['type']} event has no string "key"`;
  if (e['type'] === 'llm.usage') {
    for (const f of AMOUNT_FIELDS) {
      const v = e[f];
      if (v !== undefined && (typeof v !== 'number' || !(Math.abs(v) <= MAX_PROCESSED_AMOUNT)))
        return `llm.usage "${f}" ${String(v)} is not a number within ±${MAX_PROCESSED_AMOUNT}`;
    }
  }
  const value = screenValue(e);
  return value === undefined ? undefined : `logged event holds ${value}`;
}

/** Depth and finiteness of a JSON value, without recursion (the point is values too deep for it). */
function screenValue(root: unknown): string | undefined {
  // The shared walker: allocation-free when the value is clean (nearly always), paths only when not.
  const breach = checkJsonValue(root, MAX_PROCESSED_DEPTH);
  return breach === undefined ? undefined : breachMessage(breach);
}

function breachMessage(breach: JsonValueBreach): string {
  return breach.kind === 'too_deep' ? `JSON nested deeper than ${MAX_PROCESSED_DEPTH} levels (at ${breach.path})` : `a non-finite number (at ${breach.path})`;
}

/** First non-finite number in a (shallow or deep) value, as a message; for what is about to be committed. */
export function nonFinite(value: unknown): string | undefined {
  return screenValue(value);
}

/**
 * `nonFinite` of what a commit stores of these turns: each one's record (`turnRecord`), walked in
 * place. The call lists and the previous revision (`supersedes`) are not stored: not walked.
 */
export function nonFiniteRecord(turns: readonly TurnAggregate[]): string | undefined {
  for (let i = 0; i < turns.length; i++) {
    const a = turns[i] as unknown as Record<string, unknown>;
    for (const k in a) {
      if (NOT_STORED.has(k)) continue;
      const breach = checkJsonValue(a[k], MAX_PROCESSED_DEPTH);
      // The path as `nonFinite(turns)` would give it (`3.cost`, `3.models.0.cost`).
      if (breach !== undefined) return breachMessage({ ...breach, path: breach.path === '' ? `${i}.${k}` : `${i}.${k}.${breach.path}` });
    }
  }
  return undefined;
}
