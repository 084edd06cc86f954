/**
 * Work written as a generator that yields between small steps: `advance` runs it until it is done
 * or `deadline` (a `performance.now()` time) has passed, `drain` runs it to the end. A caller
 * spreads long work over several turns of its loop this way (see `CheckpointSchedule.advance`).
 */
export type Steps<T> = Generator<void, T, undefined>;

/** Steps `work` until it returns (its result) or the deadline has passed (undefined: call again). */
export function advance<T>(work: Steps<T>, deadline: number): { readonly done: true; readonly value: T } | undefined {
  for (;;) {
    const r = work.next();
    if (r.done === true) return { done: true, value: r.value };
    if (performance.now() >= deadline) return undefined;
  }
}

/** Runs `work` to the end. */
export function drain<T>(work: Steps<T>): T {
  for (;;) {
    const r = work.next();
    if (r.done === true) return r.value;
  }
}
