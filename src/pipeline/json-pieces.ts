import type { Steps } from './steps.ts';

/**
 * `JSON.stringify(value)` as a sequence of pieces, for a document too big to write in one go
 * without stalling the thread (a checkpoint's: ~5 MB, ~70 ms in one call on the bench machine).
 * Arrays and objects are opened and closed here; each array element and each object member whose
 * encoding is not split further is one `JSON.stringify` call, and the generator yields after
 * every ~`pieceChars` characters, so a caller can stop between pieces and go on later.
 *
 * The concatenation of the pieces is exactly `JSON.stringify(value)` for the plain data it is
 * given (arrays, objects, strings, numbers, booleans, null, undefined members). It does not call
 * `toJSON` on containers it splits (it splits only plain arrays and objects) and takes no replacer.
 * The caller must not change `value` until the generator is done.
 */
export function* jsonPieces(value: unknown, pieceChars = 64 * 1024): Generator<string, void, undefined> {
  const out: string[] = [];
  let size = 0;
  for (const part of parts(value)) {
    out.push(part);
    size += part.length;
    if (size >= pieceChars) {
      yield out.join('');
      out.length = 0;
      size = 0;
    }
  }
  if (out.length > 0) yield out.join('');
}

/** `value` as JSON in UTF-8, made piece by piece: yields between pieces. */
export function* jsonBytes(value: unknown): Steps<Buffer> {
  const chunks: Buffer[] = [];
  for (const piece of jsonPieces(value)) {
    chunks.push(Buffer.from(piece));
    yield;
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/** Members of at most this many elements are written with one `JSON.stringify` call. */
const WHOLE = 64;

function* parts(value: unknown): Generator<string, void, undefined> {
  if (Array.isArray(value)) {
    if (value.length <= WHOLE && !value.some(big)) {
      yield JSON.stringify(value);
      return;
    }
    yield '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) yield ',';
      const v = value[i];
      // As JSON.stringify does in arrays: what has no JSON form is null.
      if (v === undefined || typeof v === 'function' || typeof v === 'symbol') yield 'null';
      else yield* parts(v);
    }
    yield ']';
    return;
  }
  if (!splittable(value)) {
    yield JSON.stringify(value) ?? 'null';
    return;
  }
  yield '{';
  let first = true;
  for (const [k, v] of Object.entries(value)) {
    // As JSON.stringify does in objects: a member without a JSON form is left out.
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
    yield `${first ? '' : ','}${JSON.stringify(k)}:`;
    first = false;
    yield* parts(v);
  }
  yield '}';
}

/** A plain object (not a Buffer, Map, Date or anything with `toJSON`): written member by member. */
function splittable(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return (proto === Object.prototype || proto === null) && typeof (value as { toJSON?: unknown }).toJSON !== 'function';
}

/** Worth splitting: a long array, or an object (objects are few and may hold long arrays). */
function big(v: unknown): boolean {
  return (Array.isArray(v) && v.length > WHOLE) || splittable(v);
}
