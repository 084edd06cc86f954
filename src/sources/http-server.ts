import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Ingestor, IngestResult } from '../pipeline/ingestor.ts';
import { summarize } from '../pipeline/ingestor.ts';
import type { Logger } from '../logger.ts';
import { bearerAuth } from './bearer-auth.ts';
import { splitNdjson } from './split-ndjson.ts';

export interface HttpServerOptions {
  readonly ingestor: Ingestor;
  readonly metrics: (req: IncomingMessage, res: ServerResponse) => void;
  readonly health: () => Record<string, unknown> & { ok: boolean };
  readonly logger: Logger;
  readonly token?: string;
  /** Largest accepted request body, bytes. */
  readonly maxBodyBytes: number;
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > max) return reject(new BodyTooLarge());
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.pause();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/**
 * The one HTTP server of `turnstream start`: `POST /v1/events` (NDJSON, a JSON array, or one JSON
 * object; per-event results; acknowledged only once durable in the log), `GET /metrics`
 * (Prometheus) and `GET /healthz`.
 *
 * Answers: 200 when every event was accepted or was a duplicate; 207 when some were rejected (the
 * body lists which and why); 422 when all were; 400 for a JSON-array body that does not parse;
 * 401 without the configured bearer token; 413 over the body limit; 503 when the log could not be
 * written (nothing was acknowledged: retry).
 */
export function createHttpServer(o: HttpServerOptions): Server {
  const authorized = bearerAuth(o.token);
  const log = o.logger;

  const ingest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!authorized(req)) return send(res, 401, { error: 'missing or wrong bearer token (Authorization: Bearer <token>)' }, { 'www-authenticate': 'Bearer' });
    let body: string;
    try {
      body = await readBody(req, o.maxBodyBytes);
    } catch (error) {
      if (error instanceof BodyTooLarge) {
        send(res, 413, { error: `request body is over ${o.maxBodyBytes} bytes; send smaller batches` }, { connection: 'close' });
        req.destroy();
        return;
      }
      throw error;
    }
    let inputs: unknown[];
    const trimmed = body.trimStart();
    if (trimmed.startsWith('[')) {
      try {
        inputs = JSON.parse(body) as unknown[];
      } catch (error) {
        await o.ingestor.ingest([body], 'http'); // dead-letters the whole body as invalid_json
        return send(res, 400, { error: `body is not a valid JSON array: ${(error as Error).message}` });
      }
    } else {
      inputs = splitNdjson(body);
    }
    if (inputs.length === 0) return send(res, 400, { error: 'no events in body: send NDJSON (one event per line) or a JSON array' });
    let results: IngestResult[];
    try {
      results = await o.ingestor.ingest(inputs, 'http');
    } catch (error) {
      log.error('ingest failed; nothing acknowledged', { error });
      return send(res, 503, { error: 'the event log could not be written; nothing was acknowledged, retry' }, { 'retry-after': '1' });
    }
    const counts = summarize(results);
    const status = counts.rejected === 0 ? 200 : counts.rejected === results.length ? 422 : 207;
    send(res, status, { ...counts, results: results.filter((r) => r.status !== 'accepted') });
  };

  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    const route = `${req.method} ${path}`;
    const handle = async (): Promise<void> => {
      switch (route) {
        case 'POST /v1/events':
          return ingest(req, res);
        case 'GET /metrics':
          return o.metrics(req, res);
        case 'GET /healthz': {
          const h = o.health();
          return send(res, h.ok ? 200 : 503, h);
        }
        default:
          return send(res, path === '/v1/events' || path === '/metrics' || path === '/healthz' ? 405 : 404, { error: `no route for ${route}; try POST /v1/events, GET /metrics, GET /healthz` });
      }
    };
    handle().catch((error: unknown) => {
      log.error('request failed', { route, error });
      if (!res.headersSent) send(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
}
