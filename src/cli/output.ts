/**
 * The CLI's output layer: the only place that writes to stdout (results) and to stderr (progress
 * and human messages). Everything else logs through the logger.
 */
export const out = {
  line(text = ''): void {
    process.stdout.write(`${text}\n`);
  },
  json(value: unknown): void {
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  },
  note(text: string): void {
    process.stderr.write(`${text}\n`);
  },
  /** A one-line progress indicator on a terminal; silent when stderr is not a TTY. */
  progress(text: string): void {
    if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${text}`);
  },
  progressDone(): void {
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[2K');
  },
};

/** Renders rows as an aligned text table. Numbers are right-aligned. */
export function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === 'string' ? c : finite(c) ? String(c) : INVALID_NUMBER)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r, ri) =>
      r
        .map((c, i) => (ri > 0 && typeof rows[ri - 1]![i] === 'number' ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/**
 * Shown for a number a stored record does not hold as a finite number (`null` where an old store
 * summed `1e309`): one cell says so, the rest of the listing still prints.
 */
export const INVALID_NUMBER = 'invalid';
const finite = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n);

export const usd = (n: number): string => (finite(n) ? `$${n.toFixed(n !== 0 && Math.abs(n) < 0.01 ? 6 : 4)}` : INVALID_NUMBER);
export const int = (n: number): string => (finite(n) ? Math.round(n).toLocaleString('en-US') : INVALID_NUMBER);
