import type { PushMetricExporter } from '@opentelemetry/sdk-metrics';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import { ConfigError } from '../errors.ts';
import { OTLP_SPAN_BATCHING } from './telemetry-identity.ts';

export interface OtlpExporters {
  readonly traces?: { readonly exporter: SpanExporter; readonly describe: string };
  readonly metrics?: { readonly exporter: PushMetricExporter; readonly describe: string };
}

const PROTOCOLS = ['http/protobuf', 'http/json'] as const;
export type OtlpProtocol = (typeof PROTOCOLS)[number];

function protocol(env: NodeJS.ProcessEnv, signal: 'TRACES' | 'METRICS'): OtlpProtocol {
  const name = env[`OTEL_EXPORTER_OTLP_${signal}_PROTOCOL`] !== undefined ? `OTEL_EXPORTER_OTLP_${signal}_PROTOCOL` : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const value = env[name] ?? 'http/protobuf';
  if ((PROTOCOLS as readonly string[]).includes(value)) return value as OtlpProtocol;
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

/** Where one signal goes: the protocol and the URL. */
export interface OtlpTarget {
  readonly protocol: OtlpProtocol;
  readonly url: string;
}

/**
 * The OTLP targets chosen by the standard variables: a signal is exported when
 * OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_{TRACES,METRICS}_ENDPOINT is set (or
 * OTEL_{TRACES,METRICS}_EXPORTER=otlp), unless OTEL_{TRACES,METRICS}_EXPORTER=none. Throws a
 * `ConfigError` for a protocol we do not speak. Loads nothing: the span worker is given the target
 * and builds its exporter itself.
 */
export function otlpTargets(env: NodeJS.ProcessEnv): { traces?: OtlpTarget; metrics?: OtlpTarget } {
  const target = (signal: 'TRACES' | 'METRICS'): OtlpTarget | undefined =>
    enabled(env, signal) ? { protocol: protocol(env, signal), url: endpoint(env, signal) } : undefined;
  const traces = target('TRACES');
  const metrics = target('METRICS');
  return { ...(traces === undefined ? {} : { traces }), ...(metrics === undefined ? {} : { metrics }) };
}

/**
 * Requests one trace exporter may have in flight. A flush (forceFlush, shutdown) of the SDK's
 * BatchSpanProcessor exports every queued batch at once, beside the batch the timer may have in
 * flight: allow twice a full queue's batches, or the exporter refuses the requests past its default
 * limit of 30 ("Concurrent export limit reached") and the flush fails.
 */
export const otlpConcurrencyLimit = 2 * Math.ceil(OTLP_SPAN_BATCHING.maxQueueSize / OTLP_SPAN_BATCHING.maxExportBatchSize);

/** The SDK's OTLP trace exporter for a target (headers, timeout, compression from the process environment). */
export async function otlpTraceExporter(t: OtlpTarget): Promise<SpanExporter> {
  const { OTLPTraceExporter } = await (t.protocol === 'http/json'
    ? import('@opentelemetry/exporter-trace-otlp-http')
    : import('@opentelemetry/exporter-trace-otlp-proto'));
  return new OTLPTraceExporter({ url: t.url, concurrencyLimit: otlpConcurrencyLimit });
}

/** The SDK's OTLP metric exporter for a target. */
export async function otlpMetricExporter(t: OtlpTarget): Promise<PushMetricExporter> {
  const { OTLPMetricExporter } = await (t.protocol === 'http/json'
    ? import('@opentelemetry/exporter-metrics-otlp-http')
    : import('@opentelemetry/exporter-metrics-otlp-proto'));
  return new OTLPMetricExporter({ url: t.url });
}

/** `http/json http://collector:4318/v1/traces`: a target as the start-up log says it. */
export const describeTarget = (t: OtlpTarget): string => `${t.protocol} ${t.url}`;

/**
 * OTLP exporters for the targets of `otlpTargets(env)`. The URL is derived from `env` here;
 * headers, timeout and compression the exporters read from the process environment themselves
 * (OTEL_EXPORTER_OTLP_HEADERS, …). The exporter packages are imported only for a signal that is
 * exported: a process without OTLP does not load them (start-up time).
 */
export async function otlpFromEnv(env: NodeJS.ProcessEnv): Promise<OtlpExporters> {
  const { traces, metrics } = otlpTargets(env);
  const out: { traces?: OtlpExporters['traces']; metrics?: OtlpExporters['metrics'] } = {};
  if (traces !== undefined) out.traces = { exporter: await otlpTraceExporter(traces), describe: describeTarget(traces) };
  if (metrics !== undefined) out.metrics = { exporter: await otlpMetricExporter(metrics), describe: describeTarget(metrics) };
  return out;
}
