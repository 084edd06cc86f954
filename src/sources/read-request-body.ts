import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logger.ts';
import type { BodyBudget } from './body-budget.ts';
import { contentDecoder, UnsupportedEncoding } from './content-encoding.ts';
import { refuse } from './http-answer.ts';
import { BodyReadError, readBody, type Body } from './read-body.ts';

export interface ReadRequestBodyOptions {
  readonly maxBodyBytes: number;
  readonly budget: BodyBudget;
  readonly idleTimeoutMillis: number;
  readonly totalTimeoutMillis: number;
  readonly logger: Logger;
}

/**
 * Reads a request body (gzip decoded) within the limits, or answers the request itself and
 * resolves undefined: 415 for an unknown Content-Encoding, 413 over the limit, 503 when the
 * in-flight budget is spent, 408 on a stall, 400 for a body that does not decode; an aborted
 * request is destroyed. Other errors are bugs and reject.
 */
export async function readRequestBody(req: IncomingMessage, res: ServerResponse, o: ReadRequestBodyOptions): Promise<Body | undefined> {
  let decoder: ReturnType<typeof contentDecoder>;
  try {
    decoder = contentDecoder(req.headers['content-encoding']);
  } catch (error) {
    if (!(error instanceof UnsupportedEncoding)) throw error;
    refuse(req, res, 415, { error: error.message }, { 'accept-encoding': 'gzip, identity' });
    return undefined;
  }
  try {
    return await readBody(req, {
      maxBytes: o.maxBodyBytes,
      budget: o.budget,
      idleTimeoutMillis: o.idleTimeoutMillis,
      totalTimeoutMillis: o.totalTimeoutMillis,
      ...(decoder === undefined ? {} : { decoder }),
    });
  } catch (error) {
    if (!(error instanceof BodyReadError)) throw error;
    switch (error.kind) {
      case 'too_large':
        refuse(req, res, 413, { error: `${error.message}; send smaller batches` });
        break;
      case 'busy':
        o.logger.warn('ingest refused: body bytes in flight at the cap', { inflight: o.budget.used, cap: o.budget.maxBytes });
        refuse(req, res, 503, { error: 'the server holds too many request bytes right now; nothing was acknowledged, retry' }, { 'retry-after': '1' });
        break;
      case 'timeout':
        refuse(req, res, 408, { error: `${error.message}; the request was dropped` });
        break;
      case 'bad_encoding':
        refuse(req, res, 400, { error: `the body cannot be decoded as its Content-Encoding says: ${error.message}` });
        break;
      case 'aborted':
        res.destroy();
        break;
    }
    return undefined;
  }
}
