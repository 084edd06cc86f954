import type { InstrumentationScope } from '@opentelemetry/core';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';

/**
 * Who the telemetry says it comes from: the resource (`service.name` from OTEL_SERVICE_NAME, else
 * the given name, else `turnstream`; `service.version`) and the instrumentation scope. One place,
 * so spans built in the span worker carry exactly what the main thread's metrics carry.
 */
export function telemetryIdentity(
  env: NodeJS.ProcessEnv,
  serviceName: string | undefined,
  version: string,
): { resource: Resource; scope: InstrumentationScope } {
  return {
    resource: resourceFromAttributes({ 'service.name': env['OTEL_SERVICE_NAME'] ?? serviceName ?? 'turnstream', 'service.version': version }),
    scope: { name: 'turnstream', version },
  };
}

/** The BatchSpanProcessor settings for OTLP span export (in either thread). */
export const OTLP_SPAN_BATCHING = { maxQueueSize: 65_536, maxExportBatchSize: 2048, scheduledDelayMillis: 1000 } as const;
