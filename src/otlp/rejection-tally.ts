/** Longest `error_message` in a partial-success answer. */
const MAX_MESSAGE = 1_000;
const MAX_NOTES = 3;

/**
 * The items of one OTLP request that were not used, and why: the `partial_success` of the answer.
 * An item is counted once however many of its events failed; reasons are counted and the first few
 * detailed messages kept, so the message stays short for any request.
 */
export class RejectionTally {
  readonly #what: string;
  readonly #items = new Set<number>();
  readonly #reasons = new Map<string, number>();
  readonly #notes: string[] = [];

  /** `what`: the items' name in the message (`spans`, `log records`). */
  constructor(what: string) {
    this.#what = what;
  }

  /** Marks item `item` (any id unique within the request) as not used, for `reason`. */
  reject(item: number, reason: string): void {
    if (this.#items.has(item)) return;
    this.#items.add(item);
    this.#reasons.set(reason, (this.#reasons.get(reason) ?? 0) + 1);
  }

  /** Keeps a detail for the message (the first few only). */
  note(detail: string): void {
    if (this.#notes.length < MAX_NOTES) this.#notes.push(detail);
  }

  get count(): number {
    return this.#items.size;
  }

  /** '' when nothing was rejected; else counts by reason, then the first details. */
  message(): string {
    if (this.#items.size === 0) return '';
    const reasons = [...this.#reasons].map(([reason, n]) => `${n} ${reason}`).join('; ');
    const notes = this.#notes.length === 0 ? '' : ` (first: ${this.#notes.join(' | ')})`;
    const text = `${this.#items.size} ${this.#what} not used: ${reasons}${notes}`;
    return text.length <= MAX_MESSAGE ? text : `${text.slice(0, MAX_MESSAGE - 3)}...`;
  }
}
