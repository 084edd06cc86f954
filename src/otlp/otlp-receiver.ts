import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logger.ts';
import { type Ingestor, RejectedInput } from '../pipeline/ingestor.ts';
import { decodeOtlp, OtlpDecodeError, otlpFormat, requestName } from './decode-otlp.ts';
import { ClaudeCodeLogMapper } from './map-claude-code-logs.ts';
import { mapTrace } from './map-genai-trace.ts';
import { GRPC_INVALID_ARGUMENT, GRPC_UNAVAILABLE, refuseUnread, sendExportResponse, sendStatus } from './otlp-answer.ts';
import type { OtlpSignal } from './otlp-proto.ts';
import { OTLP_SOURCE, receiveLogs, receiveTraces, TraceBufferBusy } from './receive-otlp.ts';
import { TraceBuffer, type TraceBufferLimits } from './trace-buffer.ts';
import { RejectionTally } from './rejection-tally.ts';

export interface OtlpReceiverOptions {
  readonly ingestor: Ingestor;
  readonly logger: Logger;
  /** Whether the request carries the ingest bearer token (the same check as `/v1/events`). */
  readonly authorized: (req: IncomingMessage) => boolean;
  /** Reads the body within the server's limits (gzip, size, in-flight budget, timeouts), or answers the request itself. */
  readonly read: (req: IncomingMessage, res: ServerResponse) => Promise<{ readonly bytes: Buffer; release(): void } | undefined>;
  /** Rejected inputs kept one by one per request. Default 100. */
  readonly maxRequestDeadLetters?: number;
  /** Trace buffer bounds and timings (see `TraceBufferLimits`). */
  readonly traceBuffer?: Partial<TraceBufferLimits> | undefined;
}

/** The OTLP/HTTP receiver: `handle` serves `POST /v1/{traces,logs,metrics}`. */
export interface OtlpReceiver {
  handle(signal: OtlpSignal, req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Maps and stores every trace waiting in the buffer now (tests; before shutdown). */
  flush(): Promise<void>;
  /** Stops the buffer's timer after mapping what waits; call before the ingestor's store closes. */
  close(): Promise<void>;
}

/** A storage fault while storing: answered 503 (nothing acknowledged), unlike bugs. */
const isBug = (error: unknown): boolean => error instanceof TypeError || error instanceof RangeError;

/**
 * OTLP/HTTP in, on the ingest server: decodes export requests (protobuf through the official OTLP
 * definitions, or JSON), maps Claude Code log events and GenAI / OpenLLMetry / AI SDK spans to step
 * events, and hands them to the same Ingestor as `/v1/events` (dedupe by id, log, dead letters).
 * Answers like a collector: 200 with the signal's `Export*ServiceResponse` (`partial_success` for
 * items not used, with why), 400 + `Status` for a body that does not decode (dead-lettered whole as
 * `invalid_otlp`), 415 for another content type, 503 + Retry-After when the store cannot be written
 * or the trace buffer has no room for the request's spans yet (nothing taken: OTLP exporters retry
 * a 503 after Retry-After, as the spec asks of a throttled client).
 *
 * Logs are stored before the answer. Spans wait in a per-trace buffer (see `TraceBuffer`) and are
 * stored when their trace is complete: the answer acknowledges them once buffered, so spans in the
 * buffer at a crash are lost (at most `settleMs` after a trace's root arrived; a clean stop stores
 * them). Metrics are decoded and acknowledged, and not used: Claude Code's metrics repeat its
 * events, and counting both would count twice.
 */
export function createOtlpReceiver(o: OtlpReceiverOptions): OtlpReceiver {
  const log = o.logger;
  const maxLetters = o.maxRequestDeadLetters ?? 100;
  const claude = new ClaudeCodeLogMapper();
  const buffer = new TraceBuffer({
    ...o.traceBuffer,
    toEvents: mapTrace,
    store: async (events) => {
      await o.ingestor.ingestSummary(events, OTLP_SOURCE, { maxResults: 0, maxDeadLetters: maxLetters });
    },
    onError: (error, traceIds) => log.error('traces could not be mapped or stored; stored ones are retried', { traceIds: traceIds.slice(0, 200), error }),
  });

  const busy = refusals(log);

  const handle = async (signal: OtlpSignal, req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!o.authorized(req))
      return refuseUnread(req, res, 401, 'missing or wrong bearer token (Authorization: Bearer <token>)', { 'www-authenticate': 'Bearer' });
    const format = otlpFormat(req.headers['content-type']);
    if (format === undefined) {
      const got = req.headers['content-type'] ?? 'none';
      return refuseUnread(req, res, 415, `Content-Type ${got} is not OTLP; send application/x-protobuf or application/json`, {
        accept: 'application/x-protobuf, application/json',
      });
    }
    const body = await o.read(req, res);
    if (body === undefined) return;
    try {
      let tally: RejectionTally;
      try {
        const request = decodeOtlp(signal, format, body.bytes);
        tally =
          signal === 'logs'
            ? await receiveLogs(request, claude, o.ingestor)
            : signal === 'traces'
              ? await receiveTraces(request, buffer, o.ingestor, maxLetters)
              : new RejectionTally('data points');
      } catch (error) {
        if (!(error instanceof OtlpDecodeError)) throw error;
        // Nothing of the request was used: the decode and the list reading come before any store.
        const message = error.message.startsWith('the body') ? error.message : `the body is not a valid ${requestName(signal)}: ${error.message}`;
        await o.ingestor.ingestSummary([new RejectedInput('invalid_otlp', `${signal}: ${message}`, body.bytes)], OTLP_SOURCE);
        return sendStatus(res, 400, format, GRPC_INVALID_ARGUMENT, message);
      }
      sendExportResponse(res, signal, format, tally.count, tally.message());
    } catch (error) {
      if (error instanceof TraceBufferBusy) {
        busy.refused(error.message);
        return sendStatus(res, 503, format, GRPC_UNAVAILABLE, error.message, { 'retry-after': '1' });
      }
      if (isBug(error)) throw error;
      log.error('OTLP ingest failed; nothing acknowledged', { signal, error });
      sendStatus(res, 503, format, GRPC_UNAVAILABLE, 'the event log could not be written; nothing was acknowledged, retry', { 'retry-after': '1' });
    } finally {
      body.release();
    }
  };

  return { handle, flush: () => buffer.flush(), close: () => buffer.close() };
}

/** Trace requests refused for a full buffer: one warning per 10 s at most, with how many since the last. */
function refusals(log: Logger): { refused(message: string): void } {
  let count = 0;
  let last = 0;
  return {
    refused(message) {
      count++;
      if (Date.now() - last < 10_000) return;
      log.warn('OTLP trace requests refused with 503 for a retry: the trace buffer is full (traces arrive faster than they settle)', {
        refused: count,
        message,
      });
      count = 0;
      last = Date.now();
    },
  };
}
