import type { PushMetricExporter } from '@opentelemetry/sdk-metrics';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import { ConfigError } from '../errors.ts';

export interface OtlpExporters {
  readonly traces?: { readonly exporter: SpanExporter; readonly describe: string };
  readonly metrics?: { readonly exporter: PushMetricExporter; readonly describe: string };
}

const PROTOCOLS = ['http/protobuf', 'http/json'] as const;

function protocol(env: NodeJS.ProcessEnv, signal: 'TRACES' | 'METRICS'): 'http/protobuf' | 'http/json' {
  const name = env[`OTEL_EXPORTER_OTLP_${signal}_PROTOCOL`] !== undefined ? `OTEL_EXPORTER_OTLP_${signal}_PROTOCOL` : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const value = env[name] ?? 'http/protobuf';
  if ((PROTOCOLS as readonly string[]).includes(value)) return value as 'http/protobuf' | 'http/json';
  throw new ConfigError(`${name}=${value} is not supported; use http/protobuf (default) or http/json`);
}

function enabled(env: NodeJS.ProcessEnv, signal: 'TRACES' | 'METRICS'): boolean {
  const choice = env[`OTEL_${signal}_EXPORTER`];
  const choices = choice?.split(',').map((s) => s.trim()) ?? [];
  if (choices.includes('none')) return false;
  if (choices.includes('otlp')) return true;
  return Boolean(env['OTEL_EXPORTER_OTLP_ENDPOINT'] || env[`OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`]);
}

/** The signal's URL as the OTLP spec derives it: the signal variable as-is, else base + /v1/<signal>. */
function endpoint(env: NodeJS.ProcessEnv, signal: 'TRACES' | 'METRICS'): string {
  const specific = env[`OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`];
  if (specific) return specific;
  const base = env['OTEL_EXPORTER_OTLP_ENDPOINT'] || 'http://localhost:4318';
  return `${base.replace(/\/+$/, '')}/v1/${signal.toLowerCase()}`;
}

/**
 * OTLP exporters chosen by the standard variables: a signal is exported when
 * OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_{TRACES,METRICS}_ENDPOINT is set (or
 * OTEL_{TRACES,METRICS}_EXPORTER=otlp), unless OTEL_{TRACES,METRICS}_EXPORTER=none. The URL is
 * derived from `env` here; headers, timeout and compression the exporters read from the process
 * environment themselves (OTEL_EXPORTER_OTLP_HEADERS, …). The exporter packages are imported only
 * for a signal that is exported: a process without OTLP does not load them (start-up time).
 */
export async function otlpFromEnv(env: NodeJS.ProcessEnv): Promise<OtlpExporters> {
  const out: { traces?: OtlpExporters['traces']; metrics?: OtlpExporters['metrics'] } = {};
  if (enabled(env, 'TRACES')) {
    const p = protocol(env, 'TRACES');
    const url = endpoint(env, 'TRACES');
    const { OTLPTraceExporter } = await (p === 'http/json'
      ? import('@opentelemetry/exporter-trace-otlp-http')
      : import('@opentelemetry/exporter-trace-otlp-proto'));
    out.traces = { exporter: new OTLPTraceExporter({ url }), describe: `${p} ${url}` };
  }
  if (enabled(env, 'METRICS')) {
    const p = protocol(env, 'METRICS');
    const url = endpoint(env, 'METRICS');
    const { OTLPMetricExporter } = await (p === 'http/json'
      ? import('@opentelemetry/exporter-metrics-otlp-http')
      : import('@opentelemetry/exporter-metrics-otlp-proto'));
    out.metrics = { exporter: new OTLPMetricExporter({ url }), describe: `${p} ${url}` };
  }
  return out;
}
