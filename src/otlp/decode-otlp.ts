import { isUtf8 } from 'node:buffer';
import { otlpMessages, type OtlpSignal } from './otlp-proto.ts';

/** The two OTLP/HTTP encodings. */
export type OtlpFormat = 'protobuf' | 'json';

/** A body that is not a valid export request of its signal (answered 400 and dead-lettered as `invalid_otlp`). */
export class OtlpDecodeError extends Error {}

/** The encoding a `Content-Type` names, or undefined for any other type (answered 415). Parameters such as charset are ignored. */
export function otlpFormat(contentType: string | undefined): OtlpFormat | undefined {
  const type = (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (type === 'application/x-protobuf' || type === 'application/protobuf') return 'protobuf';
  if (type === 'application/json') return 'json';
  return undefined;
}

/**
 * Decodes an `Export{Trace,Logs,Metrics}ServiceRequest`: protobuf through the official OTLP message
 * types (protobufjs), JSON as OTLP's JSON mapping (lowerCamelCase fields, hex ids, 64-bit integers
 * as strings). The result is read by `spansOf` / `logRecordsOf`, which accept both shapes. Throws
 * `OtlpDecodeError` for a truncated or malformed body.
 */
export function decodeOtlp(signal: OtlpSignal, format: OtlpFormat, bytes: Uint8Array): unknown {
  if (format === 'protobuf') {
    try {
      return otlpMessages(signal).request.decode(bytes);
    } catch (error) {
      throw new OtlpDecodeError(`the body is not a protobuf ${requestName(signal)}: ${(error as Error).message}`);
    }
  }
  if (!isUtf8(bytes)) throw new OtlpDecodeError('the JSON body is not valid UTF-8');
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (error) {
    throw new OtlpDecodeError(`the body is not JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new OtlpDecodeError(`the body is not a JSON ${requestName(signal)} object`);
  return value;
}

/** `ExportTraceServiceRequest` and so on: for messages. */
export function requestName(signal: OtlpSignal): string {
  return `Export${signal === 'traces' ? 'Trace' : signal === 'logs' ? 'Logs' : 'Metrics'}ServiceRequest`;
}
