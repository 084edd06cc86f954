/**
 * The one duration grammar of turnstream, shared by settings (`--grace 5m`) and budget rules
 * (`"window": "1d"`). It lives in a leaf folder that imports nothing of ours, so `cli/` and
 * `streams/` can both use it without either depending on the other.
 *
 * Grammar (case-insensitive, blanks around the parts ignored):
 *   duration := number unit?      number := digits ( "." digits )?
 *   unit     := "ms" | "s" | "m" | "h" | "d"      (none: milliseconds)
 * A JSON number is milliseconds. Negative numbers, exponents (`1e3`), words (`5 minutes`) and
 * compound forms (`1h30m`) are not durations.
 */

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i;

/** What every duration error says is accepted (a message users read when a value is wrong). */
export const DURATION_EXAMPLES = 'use e.g. 500ms, 30s, 10m, 1h, 1d or a number of milliseconds';

/** `600000`, `500ms`, `30s`, `10m`, `1.5h`, `1d` → milliseconds. Throws an Error naming the grammar. */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  const m = typeof value === 'string' ? DURATION.exec(value) : null;
  if (!m) throw new Error(`"${String(value)}" is not a duration; ${DURATION_EXAMPLES}`);
  return Number(m[1]) * UNIT_MS[(m[2] ?? 'ms').toLowerCase()]!;
}
