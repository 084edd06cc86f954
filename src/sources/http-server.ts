import { isUtf8 } from 'node:buffer';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Ingestor } from '../pipeline/ingestor.ts';
import { RejectedInput } from '../pipeline/ingestor.ts';
import type { Logger } from '../logger.ts';
import { bearerAuth } from './bearer-auth.ts';
import { createBodyBudget, type BodyBudget } from './body-budget.ts';
import { refuse, send } from './http-answer.ts';
import type { Body } from './read-body.ts';
import { readRequestBody } from './read-request-body.ts';
import { splitJsonArray } from './split-json-array.ts';
import { ndjsonLineRanges } from './split-ndjson.ts';
import { createOtlpReceiver, type OtlpReceiver } from '../otlp/otlp-receiver.ts';
import type { OtlpSignal } from '../otlp/otlp-proto.ts';
import type { TraceBufferLimits } from '../otlp/trace-buffer.ts';

export interface HttpServerOptions {
  readonly ingestor: Ingestor;
  readonly metrics: (req: IncomingMessage, res: ServerResponse) => void;
  readonly health: () => Record<string, unknown> & { ok: boolean };
  readonly logger: Logger;
  readonly token?: string;
  /** Largest accepted request body, bytes (after decoding a gzip body). */
  readonly maxBodyBytes: number;
  /** Body bytes held across all connections at once; beyond it 503 + Retry-After. Default 64 MiB. */
  readonly maxInflightBodyBytes?: number;
  /** The in-flight budget itself, when the caller wants to watch it (overrides `maxInflightBodyBytes`). */
  readonly bodyBudget?: BodyBudget;
  /** Longest wait for the next body chunk. Default 30 s. */
  readonly bodyIdleTimeoutMillis?: number;
  /** Longest time to receive a whole body. Default 60 s. */
  readonly bodyTimeoutMillis?: number;
  /** Rejected inputs kept one by one per request, and non-accepted results listed in the answer. Default 100. */
  readonly maxRequestDeadLetters?: number;
  /** Deepest nesting of one element of a JSON-array body; deeper is `too_deep` before any parse. Default 64. */
  readonly maxArrayElementDepth?: number;
  /** Bounds and timings of the OTLP trace buffer (`POST /v1/traces`). */
  readonly otlpTraceBuffer?: Partial<TraceBufferLimits>;
}

/** The ingest server, with its OTLP receiver's buffer: `otlp.close()` stores the spans waiting in it (call before closing the store). */
export type IngestServer = Server & { readonly otlp: Pick<OtlpReceiver, 'flush' | 'close'> };

const ROUTES = ['POST /v1/events', 'POST /v1/traces', 'POST /v1/logs', 'POST /v1/metrics', 'GET /metrics', 'GET /healthz', 'HEAD /metrics', 'HEAD /healthz'];
const OTLP_PATHS: ReadonlyMap<string | undefined, OtlpSignal> = new Map([
  ['/v1/traces', 'traces'],
  ['/v1/logs', 'logs'],
  ['/v1/metrics', 'metrics'],
]);

const isSpace = (b: number | undefined): boolean => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

function firstByte(bytes: Buffer): number | undefined {
  let i = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (i < bytes.length && isSpace(bytes[i])) i++;
  return bytes[i];
}

/**
 * The one HTTP server of `turnstream start`: `POST /v1/events` (NDJSON, a JSON array, or one JSON
 * object; per-event results; acknowledged only once durable in the log), `GET`/`HEAD /metrics`
 * (Prometheus) and `GET`/`HEAD /healthz`.
 *
 * Answers: 200 when every event was accepted or was a duplicate; 207 when some were rejected (the
 * body lists the first ones and why, and `omitted` counts the rest); 422 when all were; 400 for a
 * JSON-array body whose structure is broken (the body is dead-lettered) or an empty body; 401
 * without the configured bearer token; 408 when a body stalls past a timeout; 413 over the body
 * limit (decoded bytes, for gzip); 415 for a Content-Encoding other than gzip/identity; 503 when
 * the log could not be written or too many body bytes are in flight (nothing was acknowledged:
 * retry after Retry-After).
 *
 * Bodies are read as bytes and split without parsing: each NDJSON line or array element is decoded
 * on its own from its exact bytes, so one bad, too-deep or non-UTF-8 input is rejected alone.
 *
 * `POST /v1/traces`, `/v1/logs`, `/v1/metrics`: OTLP/HTTP in (see `createOtlpReceiver`), with the
 * same bearer token, body limits, gzip, in-flight budget and timeouts as `/v1/events`.
 */
export function createHttpServer(o: HttpServerOptions): IngestServer {
  const authorized = bearerAuth(o.token);
  const log = o.logger;
  const budget = o.bodyBudget ?? createBodyBudget(o.maxInflightBodyBytes ?? 64 * 1024 * 1024);
  const maxListed = o.maxRequestDeadLetters ?? 100;
  const maxDepth = o.maxArrayElementDepth ?? 64;

  const read = (req: IncomingMessage, res: ServerResponse): Promise<Body | undefined> =>
    readRequestBody(req, res, {
      maxBodyBytes: o.maxBodyBytes,
      budget,
      idleTimeoutMillis: o.bodyIdleTimeoutMillis ?? 30_000,
      totalTimeoutMillis: o.bodyTimeoutMillis ?? 60_000,
      logger: log,
    });

  const ingest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!authorized(req))
      return refuse(req, res, 401, { error: 'missing or wrong bearer token (Authorization: Bearer <token>)' }, { 'www-authenticate': 'Bearer' });
    const body = await read(req, res);
    if (body === undefined) return;
    try {
      const split = bodyInputs(body.bytes, maxDepth);
      if (!split.ok) {
        await o.ingestor.ingestSummary([new RejectedInput('invalid_json', `body is not a valid JSON array: ${split.message}`, body.bytes)], 'http');
        return send(res, 400, { error: `body is not a valid JSON array: ${split.message}` });
      }
      const inputs = split.inputs;
      const r = await o.ingestor.ingestSummary(inputs, 'http', { maxResults: maxListed, maxDeadLetters: maxListed });
      const total = r.accepted + r.duplicate + r.rejected;
      if (total === 0) return send(res, 400, { error: 'no events in body: send NDJSON (one event per line) or a JSON array' });
      const status = r.rejected === 0 ? 200 : r.rejected === total ? 422 : 207;
      send(res, status, {
        accepted: r.accepted,
        duplicate: r.duplicate,
        rejected: r.rejected,
        results: r.results,
        ...(r.omitted === 0 ? {} : { omitted: r.omitted }),
      });
    } catch (error) {
      if (error instanceof TypeError || error instanceof RangeError) throw error; // a bug, not the storage: 500
      log.error('ingest failed; nothing acknowledged', { error });
      return send(res, 503, { error: 'the event log could not be written; nothing was acknowledged, retry' }, { 'retry-after': '1' });
    } finally {
      body.release();
    }
  };

  const otlp = createOtlpReceiver({ ingestor: o.ingestor, logger: log, authorized, read, maxRequestDeadLetters: maxListed, traceBuffer: o.otlpTraceBuffer });
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    const route = `${req.method} ${path}`;
    dispatch(route, path, req, res, { ...o, ingest, otlp }).catch((error: unknown) => {
      log.error('request failed', { route, error });
      if (!res.headersSent) send(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
  return withOtlp(server, otlp);
}

/** The server with its OTLP receiver's `flush` and `close`; a server closed without `otlp.close()` first still tries to store what the trace buffer holds. */
function withOtlp(server: Server, otlp: OtlpReceiver): IngestServer {
  server.once('close', () => void otlp.close().catch(() => undefined));
  return Object.assign(server, { otlp: { flush: () => otlp.flush(), close: () => otlp.close() } });
}

/**
 * The inputs of a body, split without parsing: the elements of a JSON array (those nested deeper
 * than `maxDepth` already rejected) or the NDJSON lines, each as its exact text (bytes when the
 * body is not valid UTF-8, so the decoder can reject just the bad ones). Not ok: a broken array.
 */
function bodyInputs(bytes: Buffer, maxDepth: number): { ok: true; inputs: Iterable<unknown> } | { ok: false; message: string } {
  // Whole-body check first: for valid UTF-8 (nearly always) no line needs its own.
  const utf8 = isUtf8(bytes);
  const slice = (start: number, end: number): string | Uint8Array => (utf8 ? bytes.toString('utf8', start, end) : bytes.subarray(start, end));
  if (firstByte(bytes) !== 0x5b) {
    return {
      ok: true,
      inputs: (function* () {
        for (const l of ndjsonLineRanges(bytes)) yield slice(l.start, l.end);
      })(),
    };
  }
  const split = splitJsonArray(bytes);
  if (!split.ok) return { ok: false, message: split.message };
  return {
    ok: true,
    inputs: (function* () {
      for (const e of split.elements()) {
        yield e.depth > maxDepth
          ? new RejectedInput('too_deep', `the element nests ${e.depth} levels deep; the limit is ${maxDepth}`, bytes.subarray(e.start, e.end))
          : slice(e.start, e.end);
      }
    })(),
  };
}

/** Routes one request; an unknown route is 404, a known path with another method 405. */
async function dispatch(
  route: string,
  path: string | undefined,
  req: IncomingMessage,
  res: ServerResponse,
  o: Pick<HttpServerOptions, 'metrics' | 'health'> & { ingest: (req: IncomingMessage, res: ServerResponse) => Promise<void>; otlp: OtlpReceiver },
): Promise<void> {
  switch (route) {
    case 'POST /v1/events':
      return o.ingest(req, res);
    case 'POST /v1/traces':
    case 'POST /v1/logs':
    case 'POST /v1/metrics':
      return o.otlp.handle(OTLP_PATHS.get(path)!, req, res);
    case 'GET /metrics':
    case 'HEAD /metrics':
      return o.metrics(req, res);
    case 'GET /healthz':
    case 'HEAD /healthz': {
      const h = o.health();
      return send(res, h.ok ? 200 : 503, h);
    }
    default:
      return send(res, path === '/v1/events' || path === '/metrics' || path === '/healthz' || OTLP_PATHS.has(path) ? 405 : 404, {
        error: `no route for ${route}; try ${ROUTES.join(', ')}`,
      });
  }
}
