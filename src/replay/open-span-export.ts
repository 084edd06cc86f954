import type { ExportResult } from '@opentelemetry/core';
import { ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { TurnstreamError } from '../errors.ts';
import { createTelemetry } from '../exporters/create-telemetry.ts';
import { otlpFromEnv } from '../exporters/otlp-from-env.ts';
import { buildTurnSpans } from '../exporters/turn-spans.ts';
import type { TurnAggregate } from '../model/turn-aggregate.ts';

/** What a finished re-export did. */
export interface SpanExportOutcome {
  readonly turns: number;
  readonly spans: number;
  /** Spans the exporter confirmed. */
  readonly exported: number;
  /** The first export failure, if any. */
  readonly error: Error | undefined;
}

export interface SpanExport {
  /** `http/json http://collector:4318/v1/traces`. */
  readonly describe: string;
  /** Queues the spans of these turns (built exactly as the live pipeline builds them: same ids). */
  send(turns: readonly TurnAggregate[]): void;
  /** Flushes, shuts down, and says what arrived. Once. */
  finish(): Promise<SpanExportOutcome>;
}

/** Passes spans through to the OTLP exporter and remembers what it confirmed. */
class ConfirmingExporter implements SpanExporter {
  exported = 0;
  error: Error | undefined;
  private readonly inner: SpanExporter;

  constructor(inner: SpanExporter) {
    this.inner = inner;
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      if (result.code === ExportResultCode.SUCCESS) this.exported += spans.length;
      else this.error ??= result.error ?? new Error('the exporter reported a failure');
      done(result);
    });
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}

/**
 * `--export`: re-exports turns as spans over OTLP, configured by the same OTEL_* variables as
 * `turnstream start`, through the same composition root (`createTelemetry`: same resource, same
 * scope, the SDK's batching and retry) and the same `buildTurnSpans`, so trace and span ids equal
 * the live run's and a tracing backend deduplicates rather than doubles. Metrics are not
 * re-exported: counters would count the same turns twice. Throws a `TurnstreamError` when no OTLP
 * trace endpoint is configured.
 */
export async function openSpanExport({ version, env = process.env }: { version: string; env?: NodeJS.ProcessEnv }): Promise<SpanExport> {
  const otlp = (await otlpFromEnv(env)).traces;
  if (otlp === undefined) {
    throw new TurnstreamError(
      '--export needs an OTLP endpoint: set OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), e.g. http://localhost:4318, and not OTEL_TRACES_EXPORTER=none',
    );
  }
  const exporter = new ConfirmingExporter(otlp.exporter);
  // The OTLP exporter is injected here, so the root must not build its own (nor a metrics one).
  const telemetry = await createTelemetry({ version, env: { ...env, OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none' }, spanExporter: exporter });
  const context = { resource: telemetry.resource, scope: telemetry.scope };
  let turns = 0,
    spans = 0;
  let finished: Promise<SpanExportOutcome> | undefined;
  return {
    describe: otlp.describe,
    send: (aggregates) => {
      for (const a of aggregates) {
        turns++;
        for (const s of buildTurnSpans(a, context)) {
          spans++;
          telemetry.spans?.onEnd(s);
        }
      }
    },
    finish: () => {
      finished ??= (async () => {
        await telemetry.forceFlush();
        await telemetry.shutdown();
        return { turns, spans, exported: exporter.exported, error: exporter.error };
      })();
      return finished;
    },
  };
}
