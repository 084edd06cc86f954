import { TurnstreamError } from '../errors.ts';

/** Time as the retrier sees it; tests inject a virtual one. */
export interface RetryClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export interface RetryOptions {
  /** Attempts in all, the first included (at least 1). */
  readonly maxAttempts: number;
  /** Ceiling of the first retry's delay; each later ceiling doubles, up to `maxBackoffMillis`. */
  readonly initialBackoffMillis: number;
  readonly maxBackoffMillis: number;
  /** Total time budget from the first attempt: no retry is started after it (absent: no deadline). */
  readonly deadlineMillis?: number;
  /** Whether an error is worth another attempt; default `isRetriable`. */
  readonly retryOn?: (error: unknown) => boolean;
  /** Called before each wait (log it, count it). */
  readonly onRetry?: (info: { error: unknown; attempt: number; delayMillis: number }) => void;
  /** Aborted: no further attempt is made; the last error is thrown. */
  readonly signal?: AbortSignal;
  /** Default: wall clock; with `unref`, waits do not keep the process alive (background work). */
  readonly clock?: RetryClock;
  readonly unref?: boolean;
  /** In [0, 1); default Math.random. */
  readonly random?: () => number;
}

/** Errors that are bugs: running the same code again gives the same error. */
const PROGRAMMING_ERRORS = [TypeError, ReferenceError, SyntaxError, RangeError] as const;

/**
 * Default retry policy (KafkaJS's): a TurnstreamError says itself (`retriable`); a programming
 * error is never retried; anything else (an I/O failure from a library) is. Callers translate
 * library errors at the edge, so e.g. fetch's `TypeError: fetch failed` must arrive wrapped.
 */
export function isRetriable(error: unknown): boolean {
  if (error instanceof TurnstreamError) return error.retriable;
  return !PROGRAMMING_ERRORS.some((E) => error instanceof E);
}

/** Exponential backoff with full jitter: uniform in [0, min(cap, initial · 2^(retry−1))). */
export function backoffMillis(retry: number, o: Pick<RetryOptions, 'initialBackoffMillis' | 'maxBackoffMillis'>, random: () => number = Math.random): number {
  return random() * Math.min(o.maxBackoffMillis, o.initialBackoffMillis * 2 ** (retry - 1));
}

const wallClock = (unref: boolean): RetryClock => ({
  now: () => Date.now(),
  sleep: (ms) =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      if (unref) timer.unref();
    }),
});

/**
 * Runs `attempt` until it resolves, retrying failures the policy allows with exponential backoff
 * and full jitter (AWS's "full jitter": spreads clients that failed together). Resolves with the
 * first success; rejects with the last error once it is not retriable, the attempts are used up,
 * the next wait would end past the deadline, or `signal` is aborted. `attempt` gets its number
 * (1-based) and a `bail(error)` that stops retrying at once with that error.
 */
export async function retry<T>(attempt: (n: number, bail: (error: unknown) => never) => Promise<T>, o: RetryOptions): Promise<T> {
  const clock = o.clock ?? wallClock(o.unref ?? false);
  const random = o.random ?? Math.random;
  const retryOn = o.retryOn ?? isRetriable;
  const started = clock.now();
  let bailed: { error: unknown } | undefined;
  const bail = (error: unknown): never => {
    bailed = { error };
    throw error;
  };
  for (let n = 1; ; n++) {
    try {
      return await attempt(n, bail);
    } catch (error) {
      if (bailed !== undefined) throw bailed.error;
      if (n >= o.maxAttempts || !retryOn(error) || o.signal?.aborted) throw error;
      const delayMillis = backoffMillis(n, o, random);
      if (o.deadlineMillis !== undefined && clock.now() + delayMillis - started > o.deadlineMillis) throw error;
      o.onRetry?.({ error, attempt: n, delayMillis });
      await clock.sleep(delayMillis);
      if (o.signal?.aborted) throw error;
    }
  }
}
