/** One element of a JSON-array body: its byte range and how deep it nests (`{}` is 1, a scalar 0). */
export interface ArrayElement {
  readonly start: number;
  readonly end: number;
  readonly depth: number;
}

export type SplitArrayResult =
  | { readonly ok: true; readonly count: number; elements(): Generator<ArrayElement> }
  | { readonly ok: false; readonly message: string };

class Malformed extends Error {}

const isSpace = (b: number): boolean => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

/**
 * Finds the elements of a JSON-array body by one linear scan of its bytes, without parsing: the
 * parser (and `JSON.stringify` of what it built) never sees nesting deeper than an element is
 * allowed, and each element is decoded on its own from its exact bytes, like an NDJSON line — a
 * bad or too-deep element is rejected alone and the good ones beside it are kept. Only the
 * array's own structure (brackets, strings, commas between elements) is checked here; a body
 * whose structure is broken is `{ok: false}` with where and why. Bytes inside strings are not
 * interpreted, so the scan works on invalid UTF-8 too.
 */
export function splitJsonArray(body: Uint8Array): SplitArrayResult {
  let count = 0;
  try {
    for (const _ of scan(body)) count++;
  } catch (error) {
    if (error instanceof Malformed) return { ok: false, message: error.message };
    throw error;
  }
  return { ok: true, count, elements: () => scan(body) };
}

function* scan(b: Uint8Array): Generator<ArrayElement> {
  let i = 0;
  if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) i = 3; // a UTF-8 byte-order mark
  while (i < b.length && isSpace(b[i]!)) i++;
  if (b[i] !== 0x5b) throw new Malformed('the body does not start with "["');
  i++;
  // Bracket kinds of the open levels below the array, to catch `{...]`; one byte per level.
  const stack = new Uint8Array(Math.min(b.length, 1 << 20));
  let depth = 0; // levels open inside the current element
  let maxDepth = 0;
  let start = -1; // first byte of the current element, -1 between elements
  let commaAt = -1;
  for (; i < b.length; i++) {
    const c = b[i]!;
    if (c === 0x22) {
      // A string: skip to its closing quote, past escapes.
      if (start === -1) start = i;
      for (i++; i < b.length && b[i] !== 0x22; i++) if (b[i] === 0x5c) i++;
      if (i >= b.length) throw new Malformed('unterminated string at the end of the body');
      continue;
    }
    if (depth === 0) {
      if (isSpace(c)) continue;
      if (c === 0x2c || c === 0x5d) {
        if (start === -1) {
          if (c === 0x2c || commaAt !== -1) throw new Malformed(`empty element at byte ${commaAt === -1 ? i : commaAt}`);
        } else {
          let end = i;
          while (end > start && isSpace(b[end - 1]!)) end--;
          yield { start, end, depth: maxDepth };
          start = -1;
          maxDepth = 0;
        }
        if (c === 0x2c) {
          commaAt = i;
          continue;
        }
        for (i++; i < b.length; i++) if (!isSpace(b[i]!)) throw new Malformed(`unexpected data after the array at byte ${i}`);
        return;
      }
      if (c === 0x7d) throw new Malformed(`unexpected "}" at byte ${i}`);
      if (start === -1) start = i;
      commaAt = -1;
    }
    if (c === 0x5b || c === 0x7b) {
      if (depth < stack.length) stack[depth] = c;
      depth++;
      if (depth > maxDepth) maxDepth = depth;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
      if (depth < stack.length && stack[depth] !== c - 2) throw new Malformed(`unexpected "${String.fromCharCode(c)}" at byte ${i}`);
    }
  }
  throw new Malformed('the array is not closed: unexpected end of the body');
}
