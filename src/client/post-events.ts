import { TurnstreamError } from '../errors.ts';

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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * POSTs NDJSON lines to `<url>/v1/events`. Retries network errors, 429 and 503 with exponential
 * backoff and jitter (the server acknowledges nothing it has not logged, and dedupes by id, so a
 * retry is safe). Other failures throw a TurnstreamError with the server's message.
 */
export async function postEvents(lines: readonly string[], o: PostOptions): Promise<PostResult> {
  const endpoint = new URL('/v1/events', o.url).toString();
  const attempts = o.attempts ?? 5;
  const body = `${lines.join('\n')}\n`;
  for (let attempt = 1; ; attempt++) {
    let res: Response;
    try {
      res = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson', ...(o.token === undefined ? {} : { authorization: `Bearer ${o.token}` }) },
        body,
        signal: AbortSignal.timeout(o.timeoutMillis ?? 30_000),
      });
    } catch (error) {
      if (attempt >= attempts) throw new TurnstreamError(`cannot reach turnstream at ${o.url}: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}. Is 'turnstream start' running there?`, { cause: error, retriable: true });
      await sleep(Math.min(5000, 100 * 2 ** attempt) * (0.5 + Math.random() / 2));
      continue;
    }
    const text = await res.text();
    if ((res.status === 503 || res.status === 429) && attempt < attempts) {
      await sleep(Math.min(5000, 100 * 2 ** attempt) * (0.5 + Math.random() / 2));
      continue;
    }
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // not JSON: reported below with the status
    }
    if (res.status === 200 || res.status === 207 || res.status === 422) {
      return { status: res.status, accepted: Number(json['accepted'] ?? 0), duplicate: Number(json['duplicate'] ?? 0), rejected: Number(json['rejected'] ?? 0), results: (json['results'] as PostResult['results']) ?? [] };
    }
    throw new TurnstreamError(`turnstream at ${o.url} answered ${res.status}: ${String(json['error'] ?? text).slice(0, 500)}`, { retriable: res.status >= 500 });
  }
}
