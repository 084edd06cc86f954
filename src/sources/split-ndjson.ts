/**
 * Splits an NDJSON text into its non-empty lines (LF or CRLF). Blank lines are not events and are
 * skipped; every other line is returned as-is for the decoder to accept or reject.
 */
export function splitNdjson(text: string): string[] {
  const lines: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    let line = text.slice(start, end);
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.trim() !== '') lines.push(line);
    start = end + 1;
  }
  return lines;
}

const isSpace = (b: number): boolean => b === 0x20 || b === 0x09 || b === 0x0d || b === 0x0b || b === 0x0c;

/**
 * The same split over raw bytes, lazily: yields each non-blank line's byte range (without its LF
 * or CRLF), so a body of millions of tiny lines is never materialised as millions of strings,
 * and a line's exact bytes (valid UTF-8 or not) stay addressable for its dead letter.
 */
export function* ndjsonLineRanges(body: Uint8Array): Generator<{ readonly start: number; readonly end: number }> {
  let start = 0;
  while (start < body.length) {
    let end = body.indexOf(0x0a, start);
    if (end === -1) end = body.length;
    const next = end + 1;
    if (end > start && body[end - 1] === 0x0d) end--;
    let blank = true;
    for (let i = start; i < end; i++) {
      if (!isSpace(body[i]!)) {
        blank = false;
        break;
      }
    }
    if (!blank) yield { start, end };
    start = next;
  }
}
