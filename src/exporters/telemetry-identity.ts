import type { InstrumentationScope } from '@opentelemetry/core';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';

/** `service.name`: OTEL_SERVICE_NAME, else the given name, else `turnstream`. */
export const serviceNameOf = (env: NodeJS.ProcessEnv, serviceName: string | undefined): string => env['OTEL_SERVICE_NAME'] ?? serviceName ?? 'turnstream';

/**
 * Who the telemetry says it comes from: the resource (`service.name`, `service.version`) and the
 * instrumentation scope. One place, so spans built in the span worker carry exactly what the main
 * thread's metrics carry.
 */
export function telemetryIdentity(serviceName: string, version: string): { resource: Resource; scope: InstrumentationScope } {
  return {
    resource: resourceFromAttributes({ 'service.name': serviceName, 'service.version': version }),
    scope: { name: 'turnstream', version },
  };
}

/** The BatchSpanProcessor settings for OTLP span export (in either thread). */
export const OTLP_SPAN_BATCHING = { maxQueueSize: 65_536, maxExportBatchSize: 2048, scheduledDelayMillis: 1000 } as const;
