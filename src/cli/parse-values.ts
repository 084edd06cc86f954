/**
 * Parsers for human-friendly setting values. Each throws an Error whose message says what is accepted.
 * Durations are parsed by `units/parse-duration.ts`, the grammar budget rules share.
 */

const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1000, kib: 1024, mb: 1e6, mib: 1024 ** 2, gb: 1e9, gib: 1024 ** 3 };

/** `1048576`, `64KiB`, `8MiB`, `1MB` → bytes. */
export function parseSize(value: string | number): number {
  if (typeof value === 'number' && Number.isInteger(value) && value > 0) return value;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b|b)?\s*$/i.exec(String(value));
  const bytes = m ? Math.floor(Number(m[1]) * SIZE_UNITS[(m[2] ?? 'b').toLowerCase()]!) : 0;
  if (bytes < 1) throw new Error(`"${value}" is not a size; use e.g. 64KiB, 8MiB or a whole number of bytes (at least 1)`);
  return bytes;
}

export function parsePort(value: string | number): number {
  const n = typeof value === 'number' ? value : /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`"${value}" is not a port; use 0-65535 (0 picks a free port)`);
  return n;
}

export function parsePositiveInt(value: string | number): number {
  const n = typeof value === 'number' ? value : /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(n) || n <= 0) throw new Error(`"${value}" is not a positive whole number`);
  return n;
}

/** A whole number, 0 included (0 usually means "off"). */
export function parseNonNegativeInt(value: string | number): number {
  const n = typeof value === 'number' ? value : /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(n) || n < 0) throw new Error(`"${value}" is not a whole number (0 or more)`);
  return n;
}

/** A finite number above 0, e.g. `10000` or `0.5`. */
export function parsePositiveNumber(value: string | number): number {
  const n = typeof value === 'number' ? value : /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isFinite(n) || n <= 0) throw new Error(`"${value}" is not a positive number`);
  return n;
}

export function parseChoice<T extends string>(choices: readonly T[]): (value: string | number) => T {
  return (value) => {
    if ((choices as readonly string[]).includes(String(value))) return String(value) as T;
    throw new Error(`"${value}" is not one of ${choices.join(', ')}`);
  };
}

export function parseString(value: string | number): string {
  const s = String(value);
  if (s === '') throw new Error('must not be empty');
  return s;
}
