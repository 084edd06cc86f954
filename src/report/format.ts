/**
 * Formatting shared by every report a person or a script reads (`sessions`, `replay`, `import`,
 * `dead-letters`): numbers, money, times and text tables. Pure functions, no I/O: the CLI's output
 * layer (`cli/output.ts`) writes what these return. Outside `cli/` so that `replay/` can render
 * without importing the CLI (which imports replay).
 */

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

/**
 * The one date formatter: epoch ms as ISO 8601 UTC. A stored time that is not a valid one (an old
 * store's `null`, NaN) is shown as `invalid` (or the caller's marker), never thrown on: one bad
 * record must not fail a whole report. `trimMillis` drops a `.000` millisecond part (listings).
 */
export function isoTime(
  ms: number,
  { invalid = INVALID_NUMBER, trimMillis = false }: { readonly invalid?: string; readonly trimMillis?: boolean } = {},
): string {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return invalid;
  const d = new Date(ms);
  if (!Number.isFinite(d.getTime())) return invalid;
  const text = d.toISOString();
  return trimMillis ? text.replace('.000Z', 'Z') : text;
}
