import { randomUUID } from 'node:crypto';
import { postEvents, type PostResult } from './post-events.ts';

/** An event as an agent writes it: envelope fields `v`, `id` and `time` are filled in if absent. */
export type EmitInput = { readonly type: string; readonly session: string } & Record<string, unknown>;

export interface EmitterOptions {
  /** A running turnstream, e.g. http://127.0.0.1:8787. */
  readonly url: string;
  readonly token?: string;
  /** Send when this many events are buffered. Default 200. */
  readonly maxBatch?: number;
  /** Send buffered events at least this often. Default 1000 ms. */
  readonly flushIntervalMillis?: number;
  /** Called when a send fails, some events were rejected, or an event is emitted after close. */
  readonly onError?: (error: Error, result?: PostResult) => void;
}

export interface Emitter {
  /** Buffers one event (v, id and time filled in). Returns the event id. Never throws. */
  emit(event: EmitInput): string;
  /** Sends everything buffered so far; resolves with the server's answers once all of it is sent. */
  flush(): Promise<PostResult[]>;
  /** Sends everything and stops the timer; every call resolves only when all of it is sent. */
  close(): Promise<void>;
}

/**
 * The tiny client agents embed: `emit()` is synchronous and cheap, sending happens in batches in
 * the background (retries included, in order), and nothing is ever thrown into the agent: failures
 * go to `onError` (itself guarded), so instrumentation cannot crash or block the host.
 *
 *   const ts = createEmitter({ url: 'http://127.0.0.1:8787' });
 *   ts.emit({ type: 'turn.start', session: 's1', turn: 't1' });
 *   await ts.close();
 */
// long: buffer, send chain and close state are shared by the four methods it returns; a class would be as long.
export function createEmitter(o: EmitterOptions): Emitter {
  const maxBatch = o.maxBatch ?? 200;
  let buffer: string[] = [];
  /** The tail of the send chain: batches are sent one after another, in emit order. */
  let tail: Promise<void> = Promise.resolve();
  let results: PostResult[] = [];
  let closed = false;
  let closing: Promise<void> | undefined;

  const report = (error: Error, result?: PostResult): void => {
    try {
      o.onError?.(error, result);
    } catch {
      // A failing error handler must not break the emitter or reach the host.
    }
  };

  const send = (): Promise<void> => {
    if (buffer.length > 0) {
      const lines = buffer;
      buffer = [];
      tail = tail.then(async () => {
        try {
          const r = await postEvents(lines, { url: o.url, ...(o.token === undefined ? {} : { token: o.token }) });
          results.push(r);
          if (r.rejected > 0) report(new Error(`${r.rejected} event(s) rejected by turnstream`), r);
        } catch (error) {
          report(error as Error);
        }
      });
    }
    return tail;
  };
  const timer = setInterval(() => void send(), o.flushIntervalMillis ?? 1000);
  timer.unref();

  /** Waits until nothing is buffered and nothing is in flight (batches queued meanwhile included). */
  const drain = async (): Promise<void> => {
    for (;;) {
      const current = send();
      await current;
      if (buffer.length === 0 && current === tail) return;
    }
  };

  return {
    emit(event) {
      const id = typeof event['id'] === 'string' ? event['id'] : randomUUID();
      if (closed) {
        report(new Error(`emitter is closed; event ${id} was not sent`));
        return id;
      }
      buffer.push(JSON.stringify({ v: 1, id, time: new Date().toISOString(), ...event }));
      if (buffer.length >= maxBatch) void send();
      return id;
    },
    async flush() {
      await drain();
      const done = results;
      results = [];
      return done;
    },
    close() {
      if (!closed) {
        closed = true;
        clearInterval(timer);
        closing = drain();
      }
      return closing ?? Promise.resolve();
    },
  };
}
