import type { Steps } from './steps.ts';

/**
 * `JSON.stringify(value)` as a sequence of pieces, for a document too big to write in one go
 * without stalling the thread (a checkpoint's: ~5 MB, ~70 ms in one call on the bench machine).
 * Arrays and objects are opened and closed here; the elements of an array and the members of an
 * object that are not split further are written by `JSON.stringify` (runs of array elements in one
 * call), and the generator yields pieces of exactly `pieceChars` characters (the last shorter; one
 * more where a cut would fall inside a surrogate pair, so each piece is valid UTF-16 on its own),
 * so a caller can stop between pieces and go on later.
 *
 * The concatenation of the pieces is exactly `JSON.stringify(value)` for the plain data it is
 * given (arrays, objects, strings, numbers, booleans, null, undefined members). It does not call
 * `toJSON` on containers it splits (it splits only plain arrays and objects) and takes no replacer.
 * The caller must not change `value` until the generator is done.
 */
export function* jsonPieces(value: unknown, pieceChars = 64 * 1024): Generator<string, void, undefined> {
  const out: string[] = [];
  let size = 0;
  for (const part of parts(value, Math.max(1, pieceChars >> 2))) {
    out.push(part);
    size += part.length;
    if (size < pieceChars) continue;
    let text = out.join('');
    while (text.length >= pieceChars) {
      const high = text.charCodeAt(pieceChars - 1);
      const cut = high >= 0xd800 && high <= 0xdbff ? pieceChars + 1 : pieceChars;
      yield text.slice(0, cut);
      text = text.slice(cut);
    }
    out.length = 0;
    out.push(text);
    size = text.length;
  }
  if (size > 0) yield out.join('');
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

/** `runChars`: about how long a run of elements written in one call may be (a quarter of a piece). */
function* parts(value: unknown, runChars: number): Generator<string, void, undefined> {
  if (Array.isArray(value)) {
    if (value.length <= WHOLE && !value.some(big)) {
      yield JSON.stringify(value);
      return;
    }
    yield '[';
    // Runs of elements not worth splitting, each in one JSON.stringify call (its brackets cut off):
    // a checkpoint's lists hold tens of thousands of small elements, and a call (and a generator)
    // per element was most of the time spent here. A run holds about `runChars` (its length learnt
    // from the previous run's), so pieces stay near the size asked. In an array JSON.stringify
    // writes what has no JSON form as null, in a run as alone.
    let runLength = 1;
    for (let i = 0; i < value.length; ) {
      let end = i;
      while (end < value.length && end - i < runLength && !big(value[end])) end++;
      if (end > i) {
        const run = JSON.stringify(value.slice(i, end));
        yield i > 0 ? `,${run.slice(1, -1)}` : run.slice(1, -1);
        runLength = Math.min(WHOLE, Math.max(1, Math.floor((runChars * (end - i)) / run.length)));
        i = end;
        continue;
      }
      if (i > 0) yield ',';
      yield* parts(value[i], runChars);
      i++;
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
    yield* parts(v, runChars);
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
