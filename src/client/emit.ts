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
  /** Called when a background send fails or some events were rejected; never throws into the agent. */
  readonly onError?: (error: Error, result?: PostResult) => void;
}

export interface Emitter {
  /** Buffers one event (v, id and time filled in). Returns the event id. */
  emit(event: EmitInput): string;
  /** Sends what is buffered; resolves with the server's answers. */
  flush(): Promise<PostResult[]>;
  /** Flushes and stops the timer. Idempotent. */
  close(): Promise<void>;
}

/**
 * The tiny client agents embed: `emit()` is synchronous and cheap, sending happens in batches in
 * the background (retries included), so instrumentation never blocks or crashes the agent.
 *
 *   const ts = createEmitter({ url: 'http://127.0.0.1:8787' });
 *   ts.emit({ type: 'turn.start', session: 's1', turn: 't1' });
 *   await ts.close();
 */
export function createEmitter(o: EmitterOptions): Emitter {
  const maxBatch = o.maxBatch ?? 200;
  let buffer: string[] = [];
  let sending: Promise<PostResult[]> = Promise.resolve([]);
  let closed = false;
  const report = o.onError ?? (() => undefined);

  const send = (): Promise<PostResult[]> => {
    if (buffer.length === 0) return sending;
    const lines = buffer;
    buffer = [];
    sending = sending.then(async (done) => {
      try {
        const r = await postEvents(lines, { url: o.url, ...(o.token === undefined ? {} : { token: o.token }) });
        if (r.rejected > 0) report(new Error(`${r.rejected} event(s) rejected by turnstream`), r);
        return [...done, r];
      } catch (error) {
        report(error as Error);
        return done;
      }
    });
    return sending;
  };
  const timer = setInterval(() => void send(), o.flushIntervalMillis ?? 1000);
  timer.unref();

  return {
    emit(event) {
      if (closed) throw new Error('emitter is closed');
      const id = typeof event['id'] === 'string' ? event['id'] : randomUUID();
      buffer.push(JSON.stringify({ v: 1, id, time: new Date().toISOString(), ...event }));
      if (buffer.length >= maxBatch) void send();
      return id;
    },
    async flush() {
      const results = await send();
      sending = Promise.resolve([]);
      return results;
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      await send();
    },
  };
}
