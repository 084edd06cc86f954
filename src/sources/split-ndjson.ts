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
