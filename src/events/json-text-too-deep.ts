/**
 * A linear pre-parse check of one JSON text, so the decoder refuses deep nesting before
 * `JSON.parse` builds it: V8's parser is iterative, but code downstream that walks a value
 * (`JSON.stringify` in the state store, `structuredClone`, the schema validator) recurses, and a 5,000-deep state
 * value once overflowed the stack there on every restart.
 */

const MAX_FIELD_CHARS = 64;

/** Whether the quote at `at` is escaped, i.e. preceded by an odd number of backslashes. */
function isEscaped(text: string, at: number): boolean {
  let n = 0;
  for (let i = at - 1; i >= 0 && text.charCodeAt(i) === 92; i--) n++;
  return n % 2 === 1;
}

/** Counts `{` and `[` anywhere (strings included), stopping once past `limit`: native indexOf, cheap. */
function countOpeners(text: string, limit: number): number {
  let n = 0;
  for (let i = text.indexOf('{'); i !== -1 && n <= limit; i = text.indexOf('{', i + 1)) n++;
  for (let i = text.indexOf('['); i !== -1 && n <= limit; i = text.indexOf('[', i + 1)) n++;
  return n;
}

/**
 * Returns undefined when no `[`/`{` in `text` opens more than `maxDepth` levels deep (the
 * outermost value is level 1); otherwise the top-level member holding the too-deep value (`value`,
 * `attrs`, an unknown field; '' when it is not a member of a top-level object). Text with at most
 * `maxDepth` brackets cannot be too deep and is not scanned (the common case); otherwise string
 * contents are skipped with indexOf. Text that is not an object, or malformed, is left to
 * `JSON.parse`. Never throws.
 */
export function jsonTextTooDeep(text: string, maxDepth: number): string | undefined {
  if (countOpeners(text, maxDepth) <= maxDepth) return undefined;
  const n = text.length;
  let i = 0;
  while (i < n && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 10 || text.charCodeAt(i) === 13 || text.charCodeAt(i) === 9)) i++;
  // Only an object can be an event: anything else is left to JSON.parse (iterative, so safe) and
  // then rejected as invalid JSON or "not an object", which says more than "too deep".
  if (text.charCodeAt(i) !== 123) return undefined;
  let depth = 0;
  let keyStart = 0;
  let keyEnd = 0;
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      let j = text.indexOf('"', i + 1);
      while (j !== -1 && isEscaped(text, j)) j = text.indexOf('"', j + 1);
      if (j === -1) return undefined;
      // At level 1 the last string before a nested value opens is that value's member name.
      if (depth === 1) {
        keyStart = i + 1;
        keyEnd = j;
      }
      i = j;
    } else if (c === 123 || c === 91) {
      if (++depth > maxDepth) return text.slice(keyStart, Math.min(keyEnd, keyStart + MAX_FIELD_CHARS));
    } else if (c === 125 || c === 93) {
      depth--;
    }
  }
  return undefined;
}
