import { postEvents } from '../../client/post-events.ts';
import type { EventSink, SendResult } from './event-sink.ts';

/**
 * Sends to a running turnstream (`POST <url>/v1/events`, NDJSON). `postEvents` retries network
 * errors, 429 and 503 with backoff; the server acknowledges only what it has logged.
 */
export function httpSink(options: { url: string; token?: string }): EventSink {
  return {
    target: options.url,
    async send(events): Promise<SendResult> {
      if (events.length === 0) return { accepted: 0, duplicate: 0, rejected: 0, rejections: [] };
      const r = await postEvents(
        events.map((e) => JSON.stringify(e)),
        { url: options.url, ...(options.token === undefined ? {} : { token: options.token }) },
      );
      const rejections = r.results
        .filter((x) => x.status === 'rejected')
        .map((x) => ({
          ...(x.id === undefined ? {} : { id: x.id }),
          ...(x.reason === undefined ? {} : { reason: x.reason }),
          ...(x.message === undefined ? {} : { message: x.message }),
        }));
      return { accepted: r.accepted, duplicate: r.duplicate, rejected: r.rejected, rejections };
    },
  };
}
