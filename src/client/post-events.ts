import { TurnstreamError } from '../errors.ts';
import { retry } from '../retry/retry.ts';

/** The server's answer to one POST /v1/events. */
export interface PostResult {
  readonly status: number;
  readonly accepted: number;
  readonly duplicate: number;
  readonly rejected: number;
  /** Non-accepted events: `{index, status, reason?, message?, id?}`, index into the posted batch. */
  readonly results: readonly { index: number; status: string; reason?: string; message?: string; id?: string }[];
}

export interface PostOptions {
  readonly url: string;
  readonly token?: string;
  /** Attempts for retriable failures (network error, 429, 503). Default 5. */
  readonly attempts?: number;
  readonly timeoutMillis?: number;
}

/**
 * Backoff ceilings: the first retry waits up to 300 ms, doubling to 7.5 s. With full jitter the
 * average wait is half the ceiling: about 20 s over 10 attempts, enough to ride out a broker restart.
 */
const BACKOFF = { initialBackoffMillis: 300, maxBackoffMillis: 7_500 } as const;

/**
 * POSTs NDJSON lines to `<url>/v1/events`. Retries network errors, 429 and 503 with exponential
 * backoff and full jitter (`retry/retry.ts`; the server acknowledges nothing it has not logged,
 * and dedupes by id, so a retry is safe). Other failures throw a TurnstreamError with the
 * server's message at once.
 */
export async function postEvents(lines: readonly string[], o: PostOptions): Promise<PostResult> {
  const endpoint = new URL('/v1/events', o.url).toString();
  const body = `${lines.join('\n')}\n`;
  return retry(
    async (_n, bail) => {
      let res: Response;
      try {
        res = await fetch(endpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/x-ndjson', ...(o.token === undefined ? {} : { authorization: `Bearer ${o.token}` }) },
          body,
          signal: AbortSignal.timeout(o.timeoutMillis ?? 30_000),
        });
      } catch (error) {
        throw new TurnstreamError(
          `cannot reach turnstream at ${o.url}: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}. Is 'turnstream start' running there?`,
          { cause: error, retriable: true },
        );
      }
      const text = await res.text();
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(text) as Record<string, unknown>;
      } catch {
        // not JSON: reported below with the status
      }
      if (res.status === 200 || res.status === 207 || res.status === 422) {
        return {
          status: res.status,
          accepted: Number(json['accepted'] ?? 0),
          duplicate: Number(json['duplicate'] ?? 0),
          rejected: Number(json['rejected'] ?? 0),
          results: (json['results'] as PostResult['results']) ?? [],
        };
      }
      const error = new TurnstreamError(`turnstream at ${o.url} answered ${res.status}: ${String(json['error'] ?? text).slice(0, 500)}`, {
        retriable: res.status >= 500 || res.status === 429,
      });
      // Only "busy, nothing acknowledged" answers are retried; a 500 is retriable in principle but
      // is left to the caller, who may know better than to repeat it.
      if (res.status === 503 || res.status === 429) throw error;
      return bail(error);
    },
    { maxAttempts: o.attempts ?? 5, ...BACKOFF },
  );
}
