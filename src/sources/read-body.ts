import type { IncomingMessage } from 'node:http';
import type { Transform } from 'node:stream';
import type { BodyBudget } from './body-budget.ts';

/** Why a body could not be read; the HTTP server maps each kind to its answer. */
export type BodyFailureKind = 'too_large' | 'busy' | 'timeout' | 'bad_encoding' | 'aborted';

export class BodyReadError extends Error {
  readonly kind: BodyFailureKind;
  constructor(kind: BodyFailureKind, message: string) {
    super(message);
    this.kind = kind;
  }
}

export interface ReadBodyOptions {
  /** Most (decoded) body bytes: beyond it `too_large`, without decoding the rest. */
  readonly maxBytes: number;
  /** Bytes held by all bodies at once; a body that does not fit fails `busy`. */
  readonly budget: BodyBudget;
  /** Longest wait for the next chunk. */
  readonly idleTimeoutMillis: number;
  /** Longest time for the whole body. */
  readonly totalTimeoutMillis: number;
  /** Streaming decoder for the Content-Encoding (gunzip), if any. */
  readonly decoder?: Transform;
}

export interface Body {
  readonly bytes: Buffer;
  /** Gives the body's bytes back to the budget; call once the request is answered. Idempotent. */
  release(): void;
}

/**
 * Reads a request body as bytes (never as text: invalid UTF-8 must survive to the dead letters),
 * through the decoder when the body is encoded, so the size limit applies to decoded bytes and a
 * gzip bomb stops at `maxBytes` instead of inflating fully. The bytes held count against the
 * shared budget as they arrive. On any failure — too large, over budget, stalled past a timeout,
 * undecodable, or the client gone — the chunks read so far are dropped and their budget returned
 * at once, and the request is paused; the caller answers and closes the connection.
 */
// long: a stream state machine: the listeners, two timers and the budget share one settle and one cleanup.
export function readBody(req: IncomingMessage, o: ReadBodyOptions): Promise<Body> {
  // long: the state machine of readBody, above.
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? Number.NaN);
    if (o.decoder === undefined && declared > o.maxBytes) return reject(new BodyReadError('too_large', `request body is over ${o.maxBytes} bytes`));
    // Refused before reading anything: the bytes of the bodies in flight are already at the cap.
    if (o.budget.used >= o.budget.maxBytes || (o.decoder === undefined && declared > o.budget.maxBytes - o.budget.used)) {
      return reject(new BodyReadError('busy', 'too many request bytes in flight'));
    }
    let chunks: Buffer[] = [];
    let held = 0;
    let settled = false;
    const source = o.decoder ?? req;
    const timers = { idle: undefined as NodeJS.Timeout | undefined, total: undefined as NodeJS.Timeout | undefined };
    const cleanup = (): void => {
      clearTimeout(timers.idle);
      clearTimeout(timers.total);
      req.off('data', onRawData);
      source.off('data', onData);
    };
    const fail = (kind: BodyFailureKind, message: string): void => {
      if (settled) return;
      settled = true;
      cleanup();
      chunks = [];
      o.budget.release(held);
      held = 0;
      req.pause();
      if (o.decoder !== undefined) {
        req.unpipe(o.decoder);
        o.decoder.destroy();
      }
      reject(new BodyReadError(kind, message));
    };
    const armIdle = (): void => {
      clearTimeout(timers.idle);
      timers.idle = setTimeout(() => fail('timeout', `no body bytes for ${o.idleTimeoutMillis} ms`), o.idleTimeoutMillis);
      timers.idle.unref();
    };
    function onRawData(): void {
      armIdle();
    }
    function onData(chunk: Buffer): void {
      if (settled) return;
      if (held + chunk.length > o.maxBytes) {
        fail('too_large', `request body is over ${o.maxBytes} bytes${o.decoder === undefined ? '' : ' decoded'}`);
        return;
      }
      if (!o.budget.tryTake(chunk.length)) {
        fail('busy', 'too many request bytes in flight');
        return;
      }
      held += chunk.length;
      chunks.push(chunk);
    }
    timers.total = setTimeout(() => fail('timeout', `body not complete within ${o.totalTimeoutMillis} ms`), o.totalTimeoutMillis);
    timers.total.unref();
    armIdle();
    req.on('data', onRawData);
    source.on('data', onData);
    source.once('end', () => {
      if (settled) return;
      settled = true;
      cleanup();
      const bytes = Buffer.concat(chunks, held);
      chunks = [];
      let taken = held;
      resolve({
        bytes,
        release: () => {
          o.budget.release(taken);
          taken = 0;
        },
      });
    });
    source.once('error', (error: Error) => fail(source === req ? 'aborted' : 'bad_encoding', error.message));
    if (o.decoder !== undefined) {
      req.once('error', (error: Error) => fail('aborted', error.message));
      req.pipe(o.decoder);
    }
    // 'close' also follows a complete body, possibly before the decoder has flushed its end.
    req.once('close', () => {
      if (!req.complete) fail('aborted', 'the client closed the connection before the body was complete');
    });
  });
}
