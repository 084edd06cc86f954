/**
 * Schema v1 (`event-v1.schema.json`) as plain code: the published schema stays the contract for
 * producers; this is the pipeline's copy of it, written for the hot path (no allocation when the
 * event is valid, one `switch` on `type`, no closures). It accepts exactly what the schema accepts
 * with the three per-call maxima written in (test/events/validate-event-schema.test.ts checks it
 * against Ajv compiled from the schema file), and reports the same first error Ajv reports with
 * `allErrors: false` and `discriminator: true`, in the same order:
 *
 * 1. the envelope's required fields (`v`, `id`, `type`, `session`, `time`), then its properties in
 *    schema order: `v`, `id`, `session`, `turn`, `time`, `seq`, `attrs` (every attribute name, then
 *    every value), `type`;
 * 2. the branch chosen by `type` (an unknown one is a `discriminator` error): its required fields,
 *    then its properties in schema order.
 *
 * Within one field: type, then maximum before minimum (maxLength before minLength), then pattern.
 * Lengths count Unicode code points, as JSON Schema (and Ajv) do, not UTF-16 units.
 *
 * Precondition: every number is finite (JSON cannot carry others; `decodeEvent` refuses them before
 * validating). `Number.isInteger` is JSON Schema's "integer" for finite numbers (1.0 is one); for
 * ±Infinity, which Ajv counts as an integer, only the first error would differ.
 */

/** The rule an event broke, named after the JSON Schema keyword Ajv would report first. */
export type EventErrorKeyword =
  /** `field` is missing. */
  | 'required'
  /** `field` (`v`) is not the constant `param` (1). */
  | 'const'
  /** `field` is not of JSON type `param` (`string`, `integer`, `number`, `object`). */
  | 'type'
  /** `field` has fewer / more code points than `param`. */
  | 'minLength'
  | 'maxLength'
  /** `field` is below `param` (0). */
  | 'minimum'
  /** `field` is above `param`: a sane per-call bound, so `decodeEvent` says `out_of_range`. */
  | 'maximum'
  /** `field` is not one of its allowed values. */
  | 'enum'
  /** `field` (`key`) starts with the reserved prefix `param`. */
  | 'pattern'
  /** `type` (`param`) is not an event type of schema v1. */
  | 'discriminator'
  /** `time` is neither an RFC 3339 timestamp (the schema's pattern) nor whole epoch ms >= 0. */
  | 'time'
  /** The attribute named `param` has a name over 256 code points. */
  | 'attrName'
  /** The attribute named `param` is not a string of at most 1024 code points, a number or a boolean. */
  | 'attrValue';

/** Why an event does not match schema v1: the first rule it breaks (see the module comment for the order). */
export interface EventError {
  readonly keyword: EventErrorKeyword;
  /** The top-level field at fault (for `required`, the missing one; for `attrName` / `attrValue`, `attrs`). */
  readonly field: string;
  /** The keyword's parameter, as documented on each `EventErrorKeyword`; '' when it has none. */
  readonly param: string | number;
}

/** The largest safe integer: the schema's maximum of `seq` and `step`. */
const MAX_SEQ = 9_007_199_254_740_991;
const MAX_ID = 256;
const MAX_KEY = 512;
const MAX_ATTR_NAME = 256;
const MAX_ATTR_STRING = 1024;
const MAX_ERROR_STRING = 1024;
const RESERVED_KEY_PREFIX = '$turnstream/';

/**
 * Validates one parsed JSON object against schema v1 with these per-call maxima (the schema file
 * carries the defaults: 100 million tokens, 10,000 USD, 7 days). Returns undefined when it is valid.
 */
export function validateEvent(
  obj: Record<string, unknown>,
  maxTokensPerCall: number,
  maxCostPerCallUsd: number,
  maxDurationMs: number,
): EventError | undefined {
  // Each field is read once: across the event types' object shapes these loads are megamorphic.
  const type = obj['type'];
  const turn = obj['turn'];
  const envelope = envelopeError(obj, type, turn);
  if (envelope !== undefined) return envelope;
  switch (type as string) {
    case 'session.start':
      return stringError(obj['agent'], 'agent', 1, MAX_ID) ?? stringError(obj['user'], 'user', 1, MAX_ID);
    case 'session.end':
      return stringError(obj['reason'], 'reason', 0, 256);
    case 'turn.start':
      return requiredError(turn, 'turn');
    case 'turn.end':
      return requiredError(turn, 'turn') ?? stringError(obj['stopReason'], 'stopReason', 0, 256);
    case 'llm.usage':
      return llmUsageError(obj, turn, maxTokensPerCall, maxCostPerCallUsd, maxDurationMs);
    case 'tool.start':
      return toolError(obj, turn);
    case 'tool.end': {
      const error = obj['error'];
      return (
        toolError(obj, turn) ??
        numberError(obj['durationMs'], 'durationMs', maxDurationMs) ??
        // oneOf [string ≤ 1024, boolean]: Ajv's first error is the string branch's.
        (typeof error === 'boolean' ? undefined : stringError(error, 'error', 0, MAX_ERROR_STRING))
      );
    }
    case 'state.set': {
      const key = obj['key'];
      return requiredError(key, 'key') ?? requiredError(obj['value'], 'value') ?? keyError(key);
    }
    case 'state.delete': {
      const key = obj['key'];
      return requiredError(key, 'key') ?? keyError(key);
    }
    default:
      return { keyword: 'discriminator', field: 'type', param: type as string };
  }
}

/** The properties every event shares (the schema's top level), in Ajv's order. */
function envelopeError(obj: Record<string, unknown>, type: unknown, turn: unknown): EventError | undefined {
  const v = obj['v'];
  const id = obj['id'];
  const session = obj['session'];
  const time = obj['time'];
  const missing =
    requiredError(v, 'v') ?? requiredError(id, 'id') ?? requiredError(type, 'type') ?? requiredError(session, 'session') ?? requiredError(time, 'time');
  if (missing !== undefined) return missing;
  if (v !== 1) return { keyword: 'const', field: 'v', param: 1 };
  return (
    stringError(id, 'id', 1, MAX_ID) ??
    stringError(session, 'session', 1, MAX_ID) ??
    stringError(turn, 'turn', 1, MAX_ID) ??
    timeError(time) ??
    integerError(obj['seq'], 'seq', MAX_SEQ) ??
    attrsError(obj['attrs']) ??
    (typeof type === 'string' ? undefined : { keyword: 'type', field: 'type', param: 'string' })
  );
}

function llmUsageError(obj: Record<string, unknown>, turn: unknown, maxTokens: number, maxCost: number, maxDurationMs: number): EventError | undefined {
  const provider = obj['provider'];
  const model = obj['model'];
  const inputTokens = obj['inputTokens'];
  const outputTokens = obj['outputTokens'];
  return (
    requiredError(turn, 'turn') ??
    requiredError(provider, 'provider') ??
    requiredError(model, 'model') ??
    requiredError(inputTokens, 'inputTokens') ??
    requiredError(outputTokens, 'outputTokens') ??
    integerError(obj['step'], 'step', MAX_SEQ) ??
    stringError(provider, 'provider', 1, MAX_ID) ??
    stringError(model, 'model', 1, MAX_ID) ??
    integerError(inputTokens, 'inputTokens', maxTokens) ??
    integerError(outputTokens, 'outputTokens', maxTokens) ??
    integerError(obj['cacheReadTokens'], 'cacheReadTokens', maxTokens) ??
    integerError(obj['cacheWriteTokens'], 'cacheWriteTokens', maxTokens) ??
    integerError(obj['cacheWrite5mTokens'], 'cacheWrite5mTokens', maxTokens) ??
    integerError(obj['cacheWrite1hTokens'], 'cacheWrite1hTokens', maxTokens) ??
    integerError(obj['reasoningTokens'], 'reasoningTokens', maxTokens) ??
    numberError(obj['cost'], 'cost', maxCost) ??
    enumError(obj['costSource'], 'costSource', 'provider', 'computed', 'subscription') ??
    stringError(obj['finishReason'], 'finishReason', 0, 64) ??
    numberError(obj['durationMs'], 'durationMs', maxDurationMs) ??
    enumError(obj['auth'], 'auth', 'api-key', 'oauth', 'subscription')
  );
}

/** tool.start, and the part of tool.end it shares. */
function toolError(obj: Record<string, unknown>, turn: unknown): EventError | undefined {
  const toolCallId = obj['toolCallId'];
  const toolName = obj['toolName'];
  return (
    requiredError(turn, 'turn') ??
    requiredError(toolCallId, 'toolCallId') ??
    requiredError(toolName, 'toolName') ??
    stringError(toolCallId, 'toolCallId', 1, MAX_ID) ??
    stringError(toolName, 'toolName', 1, MAX_ID)
  );
}

/** `value` is the field as read by the caller (once, with a literal key: a fast property load). */
function requiredError(value: unknown, field: string): EventError | undefined {
  return value === undefined ? { keyword: 'required', field, param: '' } : undefined;
}

/** An optional string field (undefined passes) of `min` (0 or 1) to `max` code points. */
function stringError(value: unknown, field: string, min: 0 | 1, max: number): EventError | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') return { keyword: 'type', field, param: 'string' };
  if (value.length > max && codePoints(value) > max) return { keyword: 'maxLength', field, param: max };
  if (value.length < min) return { keyword: 'minLength', field, param: min };
  return undefined;
}

/** An optional integer field from 0 to `max`. */
function integerError(value: unknown, field: string, max: number): EventError | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value)) return { keyword: 'type', field, param: 'integer' };
  if ((value as number) > max) return { keyword: 'maximum', field, param: max };
  if ((value as number) < 0) return { keyword: 'minimum', field, param: 0 };
  return undefined;
}

/** An optional number field from 0 to `max`. */
function numberError(value: unknown, field: string, max: number): EventError | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number') return { keyword: 'type', field, param: 'number' };
  if (!(value <= max)) return { keyword: 'maximum', field, param: max }; // NaN too, as in Ajv
  if (value < 0) return { keyword: 'minimum', field, param: 0 };
  return undefined;
}

function enumError(value: unknown, field: string, a: string, b: string, c: string): EventError | undefined {
  if (value === undefined || value === a || value === b || value === c) return undefined;
  return { keyword: 'enum', field, param: '' };
}

/** A state key: 1 to 512 code points, not starting with the reserved prefix. */
function keyError(value: unknown): EventError | undefined {
  const error = stringError(value, 'key', 1, MAX_KEY);
  if (error !== undefined) return error;
  return (value as string).startsWith(RESERVED_KEY_PREFIX) ? { keyword: 'pattern', field: 'key', param: RESERVED_KEY_PREFIX } : undefined;
}

/**
 * The schema's time pattern, verbatim (with the `u` flag, as Ajv compiles it: `\d` is ASCII, `$` the
 * very end). Equivalent by construction, and measured no slower than a hand-written `charCodeAt` loop.
 */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/u;

/** oneOf [RFC 3339 pattern string, integer >= 0]: the branches exclude each other, so "one" is "any". */
function timeError(value: unknown): EventError | undefined {
  if (typeof value === 'string' ? TIMESTAMP.test(value) : Number.isInteger(value) && (value as number) >= 0) return undefined;
  return { keyword: 'time', field: 'time', param: '' };
}

/** attrs: an object; every name at most 256 code points (all names first, as Ajv); then every value. */
function attrsError(attrs: unknown): EventError | undefined {
  if (attrs === undefined) return undefined;
  if (typeof attrs !== 'object' || attrs === null || Array.isArray(attrs)) return { keyword: 'type', field: 'attrs', param: 'object' };
  const record = attrs as Record<string, unknown>;
  for (const name in record) {
    if (name.length > MAX_ATTR_NAME && codePoints(name) > MAX_ATTR_NAME) return { keyword: 'attrName', field: 'attrs', param: name };
  }
  for (const name in record) {
    const value = record[name];
    const ok =
      typeof value === 'string'
        ? value.length <= MAX_ATTR_STRING || codePoints(value) <= MAX_ATTR_STRING
        : typeof value === 'number' || typeof value === 'boolean';
    if (!ok) return { keyword: 'attrValue', field: 'attrs', param: name };
  }
  return undefined;
}

/** Unicode code points in `s`: a surrogate pair counts once, a lone surrogate once (as Ajv's `ucs2length`). */
function codePoints(s: string): number {
  let count = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) i++;
    count++;
  }
  return count;
}
