import { ExportResultCode } from '@opentelemetry/core';
import { convertLegacyHttpOptions, createOtlpHttpExportDelegate } from '@opentelemetry/otlp-exporter-base/node-http';
import { ProtobufTraceSerializer, type IExportTraceServiceResponse, type ISerializer } from '@opentelemetry/otlp-transformer';
import type { OtlpTarget } from './otlp-from-env.ts';
import type { OtlpTurnEncoder } from './otlp-turn-encoder.ts';

interface EncodedBatch {
  readonly chunks: readonly Uint8Array[];
  readonly spans: number;
}

/** What sends encoded span batches over OTLP/HTTP protobuf. */
export interface OtlpSpanTransport {
  send(batch: readonly Uint8Array[], spans: number): Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * The SDK's OTLP/HTTP transport (the one `OTLPTraceExporter` uses: retries with backoff, the
 * OTEL_EXPORTER_OTLP_[TRACES_]HEADERS / _TIMEOUT / _COMPRESSION variables, the concurrency limit)
 * with a serializer that only frames spans the encoder already wrote as protobuf.
 */
export function otlpProtoSpanTransport(target: OtlpTarget, encoder: OtlpTurnEncoder, concurrencyLimit: number): OtlpSpanTransport {
  const serializer: ISerializer<EncodedBatch, IExportTraceServiceResponse> = {
    serializeRequest: (b) => encoder.request(b.chunks),
    deserializeResponse: (data) => ProtobufTraceSerializer.deserializeResponse(data),
  };
  const delegate = createOtlpHttpExportDelegate(
    convertLegacyHttpOptions({ url: target.url, concurrencyLimit }, 'TRACES', 'v1/traces', { 'Content-Type': 'application/x-protobuf' }),
    serializer,
    'otlp_http_span_exporter',
    { name: 'span', countItems: (b) => b.spans },
    undefined,
  );
  return {
    send: (chunks, spans) =>
      new Promise<void>((resolve, reject) =>
        delegate.export({ chunks, spans }, (result) =>
          result.code === ExportResultCode.SUCCESS ? resolve() : reject(result.error ?? new Error('span export failed')),
        ),
      ),
    shutdown: () => delegate.shutdown(),
  };
}
