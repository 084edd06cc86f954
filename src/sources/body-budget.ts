/**
 * The bytes of request bodies held in memory across all connections at once. A body reserves its
 * bytes as they arrive and releases them when its request ends, however it ends (answered,
 * aborted, timed out), so stalled or slow clients cannot together pin more than `maxBytes`.
 */
export interface BodyBudget {
  /** Bytes currently held. */
  readonly used: number;
  readonly maxBytes: number;
  /** Takes `n` more bytes if they fit; false (and nothing taken) if they do not. */
  tryTake(n: number): boolean;
  /** Gives back `n` bytes taken earlier. */
  release(n: number): void;
}

export function createBodyBudget(maxBytes: number): BodyBudget {
  let used = 0;
  return {
    get used() {
      return used;
    },
    maxBytes,
    tryTake(n) {
      if (used + n > maxBytes) return false;
      used += n;
      return true;
    },
    release(n) {
      used = Math.max(0, used - n);
    },
  };
}
