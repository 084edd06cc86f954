import type { StepEvent } from './step-event.ts';
import type { RejectReason } from './reject-reason.ts';
import { jsonTextTooDeep } from './json-text-too-deep.ts';
import { checkJsonValue } from './check-json-value.ts';
import { validateEvent, type EventError } from './validate-event.ts';
import { isoEpochMs } from './iso-epoch-ms.ts';

export interface DecodeLimits {
  /** Largest accepted event, in UTF-8 bytes. It also bounds every state value and unknown field. */
  readonly maxEventBytes: number;
  /** Most `attrs` entries on one event. */
  readonly maxAttributes: number;
  /** How far in the future (vs. `now`) an event time may be; guards the event-time watermark. */
  readonly maxFutureSkewMs: number;
  /**
   * Deepest nesting of `[`/`{` anywhere in the event, the event object being level 1 (so a state
   * value may nest one level less). Default 32. Refused before parsing: code downstream recurses.
   */
  readonly maxDepth?: number;
  /** Largest token count of one LLM call, for each token field. Default 100 million (today's largest context windows hold ~1–2 million). */
  readonly maxTokensPerCall?: number;
  /** Largest `cost` of one LLM call, USD. Default 10,000. */
  readonly maxCostPerCallUsd?: number;
  /** Largest `durationMs` of an LLM or tool call. Default 7 days (catches µs/ns sent as ms). */
  readonly maxDurationMs?: number;
}

/**
 * The defaults. The published schema (`event-v1.schema.json`) carries the same maxima, so a
 * producer validating against it agrees with a pipeline running on defaults.
 */
export const DEFAULT_DECODE_LIMITS: Required<DecodeLimits> = {
  maxEventBytes: 64 * 1024,
  maxAttributes: 32,
  maxFutureSkewMs: 5 * 60_000,
  maxDepth: 32,
  maxTokensPerCall: 100_000_000,
  maxCostPerCallUsd: 10_000,
  maxDurationMs: 7 * 24 * 3_600_000,
};

export type DecodeResult =
  | { readonly ok: true; readonly event: StepEvent }
  | {
      readonly ok: false;
      readonly reason: RejectReason;
      readonly message: string;
      readonly session?: string;
      readonly eventId?: string;
    };

/** What each bounded field means (unit; what to check), so an `out_of_range` message says what to change. */
const RANGE_HINT: Readonly<Record<string, readonly [string, string]>> = {
  cost: [' USD for one LLM call', 'cost is in USD, not cents or micro-dollars'],
  durationMs: [' ms', 'durationMs is in milliseconds, not µs or ns'],
  seq: ['', 'seq must be a safe integer (at most 2^53 - 1)'],
  step: ['', 'step must be a safe integer (at most 2^53 - 1)'],
};
const TOKEN_HINT: readonly [string, string] = [' tokens for one LLM call', 'check how the producer counts tokens'];
const TOKEN_FIELDS = new Set([
  'inputTokens',
  'outputTokens',
  'cacheReadTokens',
  'cacheWriteTokens',
  'cacheWrite5mTokens',
  'cacheWrite1hTokens',
  'reasoningTokens',
]);

/** A value above a schema maximum is `out_of_range` (a sane bound), not a malformed event. */
function outOfRange(e: EventError, obj: Record<string, unknown>): string {
  const field = e.field;
  const [unit, advice] = TOKEN_FIELDS.has(field) ? TOKEN_HINT : (RANGE_HINT[field] ?? ['', 'see the published schema']);
  return `${field}: ${String(obj[field])} is above the limit of ${String(e.param)}${unit}; ${advice}`;
}

const UNKNOWN_TYPE = 'type: unknown event type (expected session.start|session.end|turn.start|turn.end|llm.usage|tool.start|tool.end|state.set|state.delete)';

/**
 * The `schema` message for a validation error. The generic ones keep the wording the decoder gave
 * when it ran Ajv (`id: must NOT have fewer than 1 characters`): producers and tests match on it.
 */
function describe(e: EventError): string {
  switch (e.keyword) {
    case 'required':
      return `event: missing required field "${e.field}"`;
    case 'discriminator':
      return UNKNOWN_TYPE;
    case 'time':
      return 'time: must be an RFC 3339 timestamp (2026-03-02T10:00:00Z) or whole epoch milliseconds >= 0';
    case 'attrName':
      // UTF-16 length, as before: the limit counts code points, the message the name's units.
      return `attrs: an attribute name must be at most 256 characters (got ${String(e.param).length})`;
    case 'attrValue':
      // The attribute named as a JSON Pointer segment would name it (~ → ~0, / → ~1), as before.
      return `attrs.${String(e.param).replaceAll('~', '~0').replaceAll('/', '~1')}: an attribute value must be a string (at most 1024 characters), a number or a boolean`;
    case 'pattern':
      return 'key: the prefix "$turnstream/" is reserved';
    case 'type':
      return `${e.field}: must be ${String(e.param)}`;
    case 'const':
      return `${e.field}: must be equal to constant`;
    case 'minLength':
      return `${e.field}: must NOT have fewer than ${String(e.param)} characters`;
    case 'maxLength':
      return `${e.field}: must NOT have more than ${String(e.param)} characters`;
    case 'minimum':
      return `${e.field}: must be >= ${String(e.param)}`;
    case 'maximum':
      return `${e.field}: must be <= ${String(e.param)}`;
    case 'enum':
      return `${e.field}: must be equal to one of the allowed values`;
  }
}

/** Epoch ms, or NaN for a calendar date that does not exist (Date.parse would roll 02-30 over to 03-02). */
function toEpochMs(time: string | number): number {
  if (typeof time === 'number') return time;
  // Days 01–28 exist in every month: only later days need the (costlier) calendar check.
  const d = (time.charCodeAt(8) - 48) * 10 + (time.charCodeAt(9) - 48);
  if (d > 28 || d < 1) {
    const y = Number(time.slice(0, 4));
    const m = Number(time.slice(5, 7));
    if (m < 1 || m > 12 || d < 1 || d > new Date(Date.UTC(y, m, 0)).getUTCDate()) return Number.NaN;
  }
  return isoEpochMs(time);
}

function stringField(obj: Record<string, unknown>, key: string): string | undefined {
  const value = obj[key];
  return typeof value === 'string' ? value : undefined;
}

/** A rejection of an object, with its session and id when they are strings (built only on rejection: none on the valid path). */
function rejected(obj: Record<string, unknown>, reason: RejectReason, message: string): DecodeResult {
  const session = stringField(obj, 'session');
  const eventId = stringField(obj, 'id');
  return { ok: false, reason, message, ...(session === undefined ? {} : { session }), ...(eventId === undefined ? {} : { eventId }) };
}

function tooDeepMessage(field: string, maxDepth: number): string {
  return `${field === '' ? 'event' : field}: nests more than ${maxDepth} levels of [ and { (the event object is level 1); flatten the value or send it as a JSON string`;
}

/** UTF-8 size bound; the cheap UTF-16 length test first (a unit is at most 3 UTF-8 bytes). */
function sizeCheck(text: string, maxEventBytes: number): DecodeResult | undefined {
  if (text.length * 3 <= maxEventBytes) return undefined;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes <= maxEventBytes) return undefined;
  return { ok: false, reason: 'too_large', message: `event is ${bytes} bytes; the limit is ${maxEventBytes}` };
}

/**
 * Turns one untrusted input (a JSON text, or an already-parsed value from a JSON array body) into
 * a validated, normalised `StepEvent`, or says why not. Never throws. `now` is the arrival time
 * (epoch ms), used only for the future-skew guard, so decoding stays out of the log's replay path.
 */
// long: the checks run in a fixed order (size, depth, parse, finiteness, schema, limits, time), each a few lines; the order is the contract
export function decodeEvent(input: string | unknown, now: number, limits: DecodeLimits = DEFAULT_DECODE_LIMITS): DecodeResult {
  const maxDepth = limits.maxDepth ?? DEFAULT_DECODE_LIMITS.maxDepth;
  let value: unknown = input;
  if (typeof input === 'string') {
    const tooLarge = sizeCheck(input, limits.maxEventBytes);
    if (tooLarge !== undefined) return tooLarge;
    // Depth is refused on the text, before JSON.parse builds a value that recursive code would walk.
    const deepField = jsonTextTooDeep(input, maxDepth);
    if (deepField !== undefined) return { ok: false, reason: 'too_deep', message: tooDeepMessage(deepField, maxDepth) };
    try {
      value = JSON.parse(input);
    } catch (error) {
      return { ok: false, reason: 'invalid_json', message: (error as Error).message };
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, reason: 'schema', message: 'an event must be a JSON object' };
  }
  const obj = value as Record<string, unknown>;
  // Every number, wherever it is (JSON.parse turns 1e309 into Infinity); and, for a parsed value
  // (an element of a JSON-array body), the depth, without recursion, before JSON.stringify measures it.
  const breach = checkJsonValue(obj, maxDepth);
  if (breach?.kind === 'too_deep') return rejected(obj, 'too_deep', tooDeepMessage(breach.path.split('.')[0] ?? '', maxDepth));
  if (breach?.kind === 'not_finite') {
    return rejected(obj, 'out_of_range', `${breach.path}: a number too large for a double (it parses as ±Infinity); every number must be finite`);
  }
  if (typeof input !== 'string') {
    const tooLarge = sizeCheck(JSON.stringify(obj), limits.maxEventBytes);
    if (tooLarge !== undefined) return tooLarge;
  }
  if (obj['v'] !== 1) {
    return rejected(obj, 'unknown_version', `v: ${JSON.stringify(obj['v'] ?? null)} is not a supported schema version (supported: 1)`);
  }
  const invalid = validateEvent(
    obj,
    limits.maxTokensPerCall ?? DEFAULT_DECODE_LIMITS.maxTokensPerCall,
    limits.maxCostPerCallUsd ?? DEFAULT_DECODE_LIMITS.maxCostPerCallUsd,
    limits.maxDurationMs ?? DEFAULT_DECODE_LIMITS.maxDurationMs,
  );
  if (invalid !== undefined) {
    return invalid.keyword === 'maximum' ? rejected(obj, 'out_of_range', outOfRange(invalid, obj)) : rejected(obj, 'schema', describe(invalid));
  }
  const attrs = obj['attrs'];
  if (attrs !== undefined && Object.keys(attrs as object).length > limits.maxAttributes) {
    return rejected(obj, 'schema', `attrs: more than ${limits.maxAttributes} attributes`);
  }
  const timeMs = toEpochMs(obj['time'] as string | number);
  if (!Number.isFinite(timeMs)) return rejected(obj, 'schema', 'time: not a valid date');
  if (timeMs > now + limits.maxFutureSkewMs) {
    const ahead = Math.round((timeMs - now) / 1000);
    return rejected(obj, 'time_skew', `time is ${ahead} s in the future (limit ${limits.maxFutureSkewMs / 1000} s); check the producer's clock`);
  }
  obj['timeMs'] = timeMs;
  return { ok: true, event: obj as unknown as StepEvent };
}
