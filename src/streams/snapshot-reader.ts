/**
 * Reads an operator snapshot back from plain JSON data, checking its structure as it goes (not its
 * meaning: a snapshot is trusted to come from the same operator version and options). A wrong shape
 * throws an Error naming the operator and the place, so that a damaged checkpoint fails at
 * subscription, before any event, and its reader can rebuild from the log instead.
 */
export class SnapshotReader {
  private readonly operator: string;

  constructor(operator: string) {
    this.operator = operator;
  }

  fail(where: string, what: string): never {
    throw new Error(`${this.operator}: the checkpoint snapshot is not valid: ${where} ${what}`);
  }

  object(x: unknown, where: string): Record<string, unknown> {
    if (typeof x !== 'object' || x === null || Array.isArray(x)) this.fail(where, 'is not an object');
    return x as Record<string, unknown>;
  }

  /** An array; with `length`, exactly that long (a tuple). */
  array(x: unknown, where: string, length?: number): unknown[] {
    if (!Array.isArray(x)) this.fail(where, 'is not an array');
    if (length !== undefined && x.length !== length) this.fail(where, `has ${x.length} items, not ${length}`);
    return x;
  }

  number(x: unknown, where: string): number {
    if (typeof x !== 'number' || !Number.isFinite(x)) this.fail(where, 'is not a finite number');
    return x;
  }

  /** A number, or null standing for `ifNull` (JSON has no infinities: see `finiteOrNull`). */
  numberOr(x: unknown, where: string, ifNull: number): number {
    return x === null ? ifNull : this.number(x, where);
  }

  string(x: unknown, where: string): string {
    if (typeof x !== 'string') this.fail(where, 'is not a string');
    return x;
  }

  /** A string, or null standing for absent. */
  optionalString(x: unknown, where: string): string | undefined {
    return x === null ? undefined : this.string(x, where);
  }

  boolean(x: unknown, where: string): boolean {
    if (typeof x !== 'boolean') this.fail(where, 'is not a boolean');
    return x;
  }
}

/** A number as JSON can hold it: infinities (and NaN) become null; the reader knows which one it stood for. */
export function finiteOrNull(n: number): number | null {
  return Number.isFinite(n) ? n : null;
}
