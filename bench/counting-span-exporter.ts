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

/** How a benchmark wires telemetry: none, metrics only (spans built, then dropped), or full. */
export type TelemetryMode = 'none' | 'metrics' | 'full';

/**
 * `createTelemetry` as the composition root would call it, isolated from the environment
 * (`env: {}`: no OTLP endpoint), with the counting exporter when `mode` is `full`.
 */
export async function benchTelemetry(mode: TelemetryMode): Promise<{ telemetry: Telemetry | undefined; exporter: CountingSpanExporter | undefined }> {
  if (mode === 'none') return { telemetry: undefined, exporter: undefined };
  const exporter = mode === 'full' ? new CountingSpanExporter() : undefined;
  const telemetry = await createTelemetry({ version: 'bench', env: {}, ...(exporter === undefined ? {} : { spanExporter: exporter }) });
  return { telemetry, exporter };
}
