import type { IncomingMessage, ServerResponse } from 'node:http';
import { metrics as noopMetrics, type Meter } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import type { Resource } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type MetricReader } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace';
import { DEFAULT_MAX_HISTOGRAM_LABEL_SETS, DEFAULT_MAX_LABEL_SETS, DEFAULT_MAX_LABEL_VALUES } from './label-value-cap.ts';
import type { Logger } from '../logger.ts';
import { describeTarget, otlpMetricExporter, otlpTargets, otlpTraceExporter } from './otlp-from-env.ts';
import type { PipelineMetricsOptions } from './pipeline-metrics.ts';
import { SpanWorker } from './span-worker.ts';
import { OTLP_SPAN_BATCHING, serviceNameOf, telemetryIdentity } from './telemetry-identity.ts';
import { HistogramProducer, type HistogramSource } from './histogram-producer.ts';
import { allSinks, spansInThread, type TurnSpanSink } from './turn-span-sink.ts';

export interface Telemetry {
  readonly meter: Meter;
  /** Where the processor sends closed turns for their spans; undefined when traces are off (then no span is even built). */
  readonly turnSpans: TurnSpanSink | undefined;
  /** The span processor of the injected `spanExporter` (replay `--export` hands it spans it built). */
  readonly spans: SpanProcessor | undefined;
  readonly resource: Resource;
  readonly scope: InstrumentationScope;
  /** Serves the Prometheus text format (mount on `/metrics`). */
  readonly prometheus: (req: IncomingMessage, res: ServerResponse) => void;
  /** Where spans and metrics go, for the start-up log line. */
  readonly describe: string[];
  /** The label caps to pass to `createPipelineMetrics` (resolved defaults). */
  readonly labelCaps: Required<PipelineMetricsOptions>;
  /** The pipeline's histograms (aggregated outside the SDK, read by every metric reader): for `createPipelineMetrics`. */
  readonly histograms: HistogramSource;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

export interface TelemetryOptions {
  readonly serviceName?: string;
  readonly version: string;
  /** Extra span exporter (tests: an InMemorySpanExporter). */
  readonly spanExporter?: SpanExporter;
  readonly env?: NodeJS.ProcessEnv;
  /** Periodic OTLP metric export interval. */
  readonly exportIntervalMillis?: number;
  /** Distinct values per producer-chosen label (default 200); see label-value-cap.ts. */
  readonly maxLabelValues?: number;
  /** Distinct combinations per label-set family (default 1000). */
  readonly maxLabelSets?: number;
  /** Distinct combinations per histogram family (default 25). */
  readonly maxHistogramLabelSets?: number;
  /**
   * The SDK's own limit on label sets per instrument (default 2000), for labels we do not cap.
   * The SDK applies it to the label sets recorded between two collections, not to the
   * cumulative total a Prometheus reader keeps: it is a backstop, the caps above are the bound.
   */
  readonly sdkCardinalityLimit?: number;
  /**
   * Build and export OTLP spans on a worker thread (default true): span building, serialisation
   * and HTTP then run on another core than the processing. An injected `spanExporter` always runs
   * in this thread.
   */
  readonly spanWorker?: boolean;
  /** Where the span worker reports a failure. */
  readonly logger?: Logger;
}

/**
 * The composition root for OpenTelemetry: a MeterProvider with a Prometheus reader (always) and an
 * OTLP reader when the standard OTEL_EXPORTER_OTLP_* variables ask for one; a BatchSpanProcessor to
 * OTLP, on a worker thread (`SpanWorker`), and/or one in this thread for an injected exporter.
 * Streams and exporters only ever see the `Meter` and the `TurnSpanSink` it returns. Batching and
 * retry are the SDK's; nothing here re-implements them.
 */
// long: the OpenTelemetry composition root: one branch per reader/exporter the environment asks for, read top to bottom
export async function createTelemetry(options: TelemetryOptions): Promise<Telemetry> {
  const env = options.env ?? process.env;
  const serviceName = serviceNameOf(env, options.serviceName);
  const { resource, scope } = telemetryIdentity(serviceName, options.version);
  const targets = otlpTargets(env);
  const describe: string[] = ['metrics: Prometheus on /metrics'];

  const histograms = new HistogramProducer(scope);
  const prometheusExporter = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true, metricProducers: [histograms] });
  const readers: MetricReader[] = [prometheusExporter];
  if (targets.metrics !== undefined) {
    readers.push(
      new PeriodicExportingMetricReader({
        exporter: await otlpMetricExporter(targets.metrics),
        exportIntervalMillis: options.exportIntervalMillis ?? 15_000,
        metricProducers: [histograms],
      }),
    );
    describe.push(`metrics: OTLP ${describeTarget(targets.metrics)}`);
  }
  const labelCaps = {
    maxLabelValues: options.maxLabelValues ?? DEFAULT_MAX_LABEL_VALUES,
    maxLabelSets: options.maxLabelSets ?? DEFAULT_MAX_LABEL_SETS,
    maxHistogramLabelSets: options.maxHistogramLabelSets ?? DEFAULT_MAX_HISTOGRAM_LABEL_SETS,
  };
  const meterProvider = new MeterProvider({
    resource,
    readers,
    views: [{ instrumentName: '*', aggregationCardinalityLimit: options.sdkCardinalityLimit ?? 2000 }],
  });

  // OTLP spans on the span worker thread (the default), or built and sent in this thread.
  const sinks: TurnSpanSink[] = [];
  if (targets.traces !== undefined) {
    const t = targets.traces;
    const onWorker = options.spanWorker !== false;
    sinks.push(
      onWorker
        ? new SpanWorker({ target: t, serviceName, version: options.version, ...(options.logger === undefined ? {} : { logger: options.logger }) })
        : spansInThread(new BatchSpanProcessor({ exporter: await otlpTraceExporter(t), ...OTLP_SPAN_BATCHING }), { resource, scope }),
    );
    describe.push(`traces: OTLP ${describeTarget(t)}${onWorker ? ' (span worker thread)' : ''}`);
  }
  const spans =
    options.spanExporter === undefined
      ? undefined
      : new BatchSpanProcessor({ exporter: options.spanExporter, maxQueueSize: 1_000_000, maxExportBatchSize: 4096, scheduledDelayMillis: 50 });
  if (spans !== undefined) sinks.push(spansInThread(spans, { resource, scope }));
  if (sinks.length === 0) describe.push('traces: off (set OTEL_EXPORTER_OTLP_ENDPOINT to export)');
  const turnSpans = allSinks(sinks);

  let shutdown: Promise<void> | undefined;
  return {
    turnSpans,
    meter: meterProvider.getMeter(scope.name, scope.version) ?? noopMetrics.getMeter('turnstream'),
    spans,
    resource,
    scope,
    prometheus: (req, res) => prometheusExporter.getMetricsRequestHandler(req, res),
    describe,
    labelCaps,
    histograms,
    forceFlush: async () => {
      await Promise.all([turnSpans?.forceFlush(), meterProvider.forceFlush()]);
    },
    shutdown: () => {
      shutdown ??= Promise.all([turnSpans?.shutdown(), meterProvider.shutdown()]).then(() => undefined);
      return shutdown;
    },
  };
}
