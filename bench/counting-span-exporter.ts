import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { createTelemetry, type Telemetry } from '../src/exporters/create-telemetry.ts';

/**
 * A `SpanExporter` that does the CPU work of an OTLP/protobuf exporter (serialising each batch to
 * an `ExportTraceServiceRequest`) and then discards the bytes: the cost of export without a
 * network peer. Counts spans, batches, bytes and the time spent serialising.
 */
export class CountingSpanExporter implements SpanExporter {
  spans = 0;
  batches = 0;
  bytes = 0;
  serializeSeconds = 0;
  private stopped = false;

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    if (this.stopped) {
      resultCallback({ code: ExportResultCode.FAILED, error: new Error('exporter is shut down') });
      return;
    }
    const start = process.hrtime.bigint();
    const body = ProtobufTraceSerializer.serializeRequest(spans);
    this.serializeSeconds += Number(process.hrtime.bigint() - start) / 1e9;
    this.spans += spans.length;
    this.batches++;
    this.bytes += body?.byteLength ?? 0;
    resultCallback({ code: ExportResultCode.SUCCESS });
  }

  async forceFlush(): Promise<void> {}

  async shutdown(): Promise<void> {
    this.stopped = true;
  }
}

/**
 * How a benchmark wires telemetry: none; metrics only (no span built); full (spans built and
 * serialised in the processing thread by the counting exporter, not sent); otlp (the product's
 * path: OTLP/HTTP protobuf to `otlpUrl`, spans built and sent by the span worker thread);
 * otlp-thread (the same, with the span worker off: everything in the processing thread).
 */
export type TelemetryMode = 'none' | 'metrics' | 'full' | 'otlp' | 'otlp-thread';

/**
 * `createTelemetry` as the composition root would call it, isolated from the environment (`env`
 * holds only the OTLP trace endpoint of the otlp modes), with the counting exporter when `mode` is `full`.
 */
export async function benchTelemetry(
  mode: TelemetryMode,
  otlpUrl?: string,
): Promise<{ telemetry: Telemetry | undefined; exporter: CountingSpanExporter | undefined }> {
  if (mode === 'none') return { telemetry: undefined, exporter: undefined };
  const exporter = mode === 'full' ? new CountingSpanExporter() : undefined;
  const otlp = mode === 'otlp' || mode === 'otlp-thread';
  if (otlp && otlpUrl === undefined) throw new Error(`telemetry mode ${mode} needs an OTLP URL`);
  const telemetry = await createTelemetry({
    version: 'bench',
    env: otlp ? { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: otlpUrl, OTEL_METRICS_EXPORTER: 'none' } : {},
    ...(exporter === undefined ? {} : { spanExporter: exporter }),
    ...(otlp ? { spanWorker: mode === 'otlp' } : {}),
  });
  return { telemetry, exporter };
}
