import { Ajv, type ErrorObject } from 'ajv';
import { readFileSync } from 'node:fs';
import type { StepEvent } from './step-event.ts';
import type { RejectReason } from './reject-reason.ts';

export interface DecodeLimits {
  /** Largest accepted event, in UTF-8 bytes. */
  readonly maxEventBytes: number;
  /** Most `attrs` entries on one event. */
  readonly maxAttributes: number;
  /** How far in the future (vs. `now`) an event time may be; guards the event-time watermark. */
  readonly maxFutureSkewMs: number;
}

export const DEFAULT_DECODE_LIMITS: DecodeLimits = {
  maxEventBytes: 64 * 1024,
  maxAttributes: 32,
  maxFutureSkewMs: 5 * 60_000,
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

const schema: unknown = JSON.parse(readFileSync(new URL('./event-v1.schema.json', import.meta.url), 'utf8'));
const ajv = new Ajv({ discriminator: true, allErrors: false, strict: false });
const validate = ajv.compile(schema as object);

function describe(errors: ErrorObject[] | null | undefined): string {
  const e = errors?.[0];
  if (!e) return 'does not match schema v1';
  const where = e.instancePath === '' ? 'event' : e.instancePath.slice(1).replaceAll('/', '.');
  if (e.keyword === 'required') return `${where}: missing required field "${String(e.params['missingProperty'])}"`;
  if (e.keyword === 'discriminator' || (e.keyword === 'const' && e.instancePath === '/type')) {
    return 'type: unknown event type (expected session.start|session.end|turn.start|turn.end|llm.usage|tool.start|tool.end|state.set|state.delete)';
  }
  if (e.instancePath === '/time') return 'time: must be an RFC 3339 timestamp (2026-03-02T10:00:00Z) or whole epoch milliseconds >= 0';
  if (e.instancePath.startsWith('/attrs/')) return `${where}: an attribute value must be a string (at most 1024 characters), a number or a boolean`;
  if (e.keyword === 'pattern' && e.instancePath === '/key') return 'key: the prefix "$turnstream/" is reserved';
  return `${where}: ${e.message ?? 'invalid'}`;
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
  return Date.parse(time);
}

function stringField(obj: Record<string, unknown>, key: string): string | undefined {
  const value = obj[key];
  return typeof value === 'string' ? value : undefined;
}

/**
 * Turns one untrusted input (a JSON text, or an already-parsed value from a JSON array body) into
 * a validated, normalised `StepEvent`, or says why not. Never throws. `now` is the arrival time
 * (epoch ms), used only for the future-skew guard, so decoding stays out of the log's replay path.
 */
export function decodeEvent(input: string | unknown, now: number, limits: DecodeLimits = DEFAULT_DECODE_LIMITS): DecodeResult {
  let value: unknown = input;
  // An already-parsed value (an element of a JSON-array body) is measured as its JSON text.
  const text = typeof input === 'string' ? input : (JSON.stringify(input) ?? '');
  // Cheap bound first: a UTF-16 length can be at most 3 UTF-8 bytes per unit.
  if (text.length * 3 > limits.maxEventBytes) {
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > limits.maxEventBytes) {
      return { ok: false, reason: 'too_large', message: `event is ${bytes} bytes; the limit is ${limits.maxEventBytes}` };
    }
  }
  if (typeof input === 'string') {
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
  const session = stringField(obj, 'session');
  const eventId = stringField(obj, 'id');
  const ids = { ...(session === undefined ? {} : { session }), ...(eventId === undefined ? {} : { eventId }) };
  if (obj['v'] !== 1) {
    return { ok: false, reason: 'unknown_version', message: `v: ${JSON.stringify(obj['v'] ?? null)} is not a supported schema version (supported: 1)`, ...ids };
  }
  if (!validate(obj)) return { ok: false, reason: 'schema', message: describe(validate.errors), ...ids };
  const attrs = obj['attrs'];
  if (attrs !== undefined && Object.keys(attrs as object).length > limits.maxAttributes) {
    return { ok: false, reason: 'schema', message: `attrs: more than ${limits.maxAttributes} attributes`, ...ids };
  }
  const timeMs = toEpochMs(obj['time'] as string | number);
  if (!Number.isFinite(timeMs)) return { ok: false, reason: 'schema', message: 'time: not a valid date', ...ids };
  if (timeMs > now + limits.maxFutureSkewMs) {
    return { ok: false, reason: 'time_skew', message: `time is ${Math.round((timeMs - now) / 1000)} s in the future (limit ${limits.maxFutureSkewMs / 1000} s); check the producer's clock`, ...ids };
  }
  obj['timeMs'] = timeMs;
  return { ok: true, event: obj as unknown as StepEvent };
}
