import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OtlpFormat } from './decode-otlp.ts';
import { otlpMessages, statusMessage, type OtlpSignal } from './otlp-proto.ts';

/** The `partial_success` field naming the rejected items of each signal. */
const REJECTED_FIELD: Readonly<Record<OtlpSignal, string>> = {
  traces: 'rejectedSpans',
  logs: 'rejectedLogRecords',
  metrics: 'rejectedDataPoints',
};

const CONTENT_TYPE: Readonly<Record<OtlpFormat, string>> = { protobuf: 'application/x-protobuf', json: 'application/json' };

/** gRPC status codes used in `Status.code`. */
export const GRPC_INVALID_ARGUMENT = 3;
export const GRPC_UNAVAILABLE = 14;

/**
 * Answers 200 with the signal's `Export*ServiceResponse` in the request's encoding: empty when every
 * item was used, else `partial_success` with the rejected count and why (OTLP/HTTP: the client
 * must not retry rejected items). JSON writes the 64-bit count as a decimal string (proto3 JSON).
 */
export function sendExportResponse(res: ServerResponse, signal: OtlpSignal, format: OtlpFormat, rejected: number, errorMessage: string): void {
  const partial = rejected > 0 || errorMessage !== '' ? { partialSuccess: { [REJECTED_FIELD[signal]]: rejected, errorMessage } } : {};
  if (format === 'protobuf') {
    const { response } = otlpMessages(signal);
    sendBytes(res, 200, format, response.encode(response.fromObject(partial)).finish());
    return;
  }
  const json = rejected > 0 || errorMessage !== '' ? { partialSuccess: { [REJECTED_FIELD[signal]]: String(rejected), errorMessage } } : {};
  sendBytes(res, 200, format, Buffer.from(JSON.stringify(json)));
}

/** Answers a failed request with a `google.rpc.Status` body in the request's encoding. */
export function sendStatus(
  res: ServerResponse,
  httpStatus: number,
  format: OtlpFormat,
  code: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  const status = format === 'protobuf' ? statusMessage() : undefined;
  const bytes = status !== undefined ? status.encode(status.fromObject({ code, message })).finish() : Buffer.from(JSON.stringify({ code, message }));
  sendBytes(res, httpStatus, format, bytes, headers);
}

/** Answers a request whose body is not read (wrong content type) and closes the connection once the answer is out. */
export function refuseUnread(req: IncomingMessage, res: ServerResponse, httpStatus: number, message: string, headers: Record<string, string> = {}): void {
  res.once('finish', () => req.destroy());
  sendBytes(res, httpStatus, 'json', Buffer.from(JSON.stringify({ code: GRPC_INVALID_ARGUMENT, message })), { connection: 'close', ...headers });
}

function sendBytes(res: ServerResponse, status: number, format: OtlpFormat, bytes: Uint8Array, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': CONTENT_TYPE[format], 'content-length': bytes.byteLength, ...headers });
  res.end(bytes);
}
