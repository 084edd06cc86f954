import { OtlpDecodeError } from './decode-otlp.ts';

/**
 * Reading OTLP values the same way whether they came from protobuf (decoded by protobufjs:
 * `Long` for 64-bit integers, `Uint8Array` for ids, oneof members as own properties) or from OTLP
 * JSON (64-bit integers as strings or numbers, ids as hex strings). One reader for both keeps the
 * two encodings mapping to the same events.
 */

/** An attribute value as the mapping uses it. Arrays keep their first scalar; maps and bytes are dropped. */
export type Scalar = string | number | boolean;

export type Attrs = ReadonlyMap<string, Scalar>;

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null;

/** A protobufjs `Long` (or any {low, high} pair). */
const isLong = (v: unknown): v is Obj & { toString(): string; toNumber(): number } => isObj(v) && typeof v['low'] === 'number' && typeof v['high'] === 'number';

/** A 64-bit integer (Long, decimal string or number) as a number; undefined when it is none of those. */
export function int64(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string') return /^-?\d+$/.test(v) ? Number(v) : undefined;
  if (isLong(v)) return v.toNumber();
  return undefined;
}

/**
 * Unix nanoseconds (Long, decimal string or number) to whole epoch milliseconds, exactly (by
 * dropping the last six digits of the decimal form, not through a double), so a protobuf and a
 * JSON export of the same span give the same times. 0 or absent → undefined (OTLP's "unset").
 */
/** The nanoseconds below the millisecond of an OTLP time (0 when unreadable): orders spans that start in the same ms. */
export function subMillisNanos(v: unknown): number {
  const text = typeof v === 'string' ? v : isLong(v) ? v.toString() : typeof v === 'number' && Number.isFinite(v) ? String(Math.floor(v)) : '';
  return /^\d+$/.test(text) ? Number(text.slice(-6)) : 0;
}

export function nanosToMs(v: unknown): number | undefined {
  let text: string;
  if (typeof v === 'string') text = v;
  else if (isLong(v)) text = v.toString();
  else if (typeof v === 'number' && Number.isFinite(v)) return v > 0 ? Math.floor(v / 1e6) : undefined;
  else return undefined;
  if (!/^\d+$/.test(text)) return undefined;
  const ms = text.length > 6 ? Number(text.slice(0, -6)) : 0;
  return ms > 0 ? ms : undefined;
}

/** A trace or span id as lowercase hex: bytes (protobuf) or a hex string (JSON); '' when absent or empty. */
export function idHex(v: unknown): string {
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
  if (typeof v === 'string') return v.toLowerCase();
  return '';
}

/** True for a non-empty, not all-zero hex id of `bytes` bytes (OTLP: an all-zero id is invalid). */
export function validId(hex: string, bytes: number): boolean {
  return hex.length === bytes * 2 && /^[0-9a-f]+$/.test(hex) && !/^0+$/.test(hex);
}

const own = (o: Obj, k: string): boolean => Object.hasOwn(o, k);

/** An `AnyValue` as a scalar (array: its first scalar element); undefined for maps, bytes, empty values. */
export function anyValueScalar(v: unknown): Scalar | undefined {
  if (!isObj(v)) return undefined;
  if (own(v, 'stringValue')) return typeof v['stringValue'] === 'string' ? v['stringValue'] : undefined;
  if (own(v, 'boolValue')) return typeof v['boolValue'] === 'boolean' ? v['boolValue'] : undefined;
  if (own(v, 'intValue')) return int64(v['intValue']);
  if (own(v, 'doubleValue')) {
    const d = v['doubleValue'];
    return typeof d === 'number' && Number.isFinite(d) ? d : undefined;
  }
  if (own(v, 'arrayValue')) {
    const values = isObj(v['arrayValue']) ? v['arrayValue']['values'] : undefined;
    return Array.isArray(values) && values.length > 0 ? anyValueScalar(values[0]) : undefined;
  }
  return undefined;
}

/**
 * The attributes of a `KeyValue` list whose key `keep` accepts, as scalars. Everything else is
 * never read: prompts, messages and tool arguments stay out of memory and out of events.
 */
export function readAttrs(list: unknown, keep: (key: string) => boolean, into: Map<string, Scalar> = new Map()): Map<string, Scalar> {
  if (!Array.isArray(list)) return into;
  for (const kv of list) {
    if (!isObj(kv) || typeof kv['key'] !== 'string' || !keep(kv['key'])) continue;
    const value = anyValueScalar(kv['value']);
    if (value !== undefined) into.set(kv['key'], value);
  }
  return into;
}

/** A field that must be a list when present (absent: empty); anything else is a malformed request (`OtlpDecodeError`). */
export function listField(o: unknown, key: string): unknown[] {
  if (!isObj(o)) throw new OtlpDecodeError(`expected an object holding "${key}"`);
  const v = o[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new OtlpDecodeError(`"${key}" must be a list`);
  return v;
}

/** `o[key]` of an object, or undefined. */
export function field(o: unknown, key: string): unknown {
  return isObj(o) ? o[key] : undefined;
}

/** A count attribute: a whole number ≥ 0, also from a decimal string (Claude Code sends its counts as strings). */
export function countOf(v: Scalar | undefined): number | undefined {
  const n = typeof v === 'string' ? (/^\d+$/.test(v.trim()) ? Number(v.trim()) : Number.NaN) : v;
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** A non-negative finite number attribute (cost, duration), also from a decimal string. */
export function amountOf(v: Scalar | undefined): number | undefined {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** A non-empty string attribute (numbers are accepted as their decimal text: ids are sometimes ints). */
export function textOf(v: Scalar | undefined): string | undefined {
  if (typeof v === 'string') return v.trim() === '' ? undefined : v;
  if (typeof v === 'number') return String(v);
  return undefined;
}
