import type { IncomingMessage, ServerResponse } from 'node:http';
import { metrics as noopMetrics, type Meter } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import type { Resource } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type MetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace';
import { DEFAULT_MAX_HISTOGRAM_LABEL_SETS, DEFAULT_MAX_LABEL_SETS, DEFAULT_MAX_LABEL_VALUES } from './label-value-cap.ts';
import type { Logger } from '../logger.ts';
import { otlpFromEnv, otlpTargets } from './otlp-from-env.ts';
import type { PipelineMetricsOptions } from './pipeline-metrics.ts';
import { SpanWorker } from './span-worker.ts';
import { OTLP_SPAN_BATCHING, telemetryIdentity } from './telemetry-identity.ts';
import { allSinks, spansInThread, type TurnSpanSink } from './turn-span-sink.ts';

export interface Telemetry {
  readonly meter: Meter;
  /** Where the processor sends closed turns for their spans; undefined when traces are off (then no span is even built). */
  readonly turnSpans: TurnSpanSink | undefined;
  /** The span processors of this thread (an injected exporter; OTLP too when `spanWorker` is false). */
  readonly spans: SpanProcessor | undefined;
  readonly resource: Resource;
  readonly scope: InstrumentationScope;
  /** Serves the Prometheus text format (mount on `/metrics`). */
  readonly prometheus: (req: IncomingMessage, res: ServerResponse) => void;
  /** Where spans and metrics go, for the start-up log line. */
  readonly describe: string[];
  /** The label caps to pass to `createPipelineMetrics` (resolved defaults). */
  readonly labelCaps: Required<PipelineMetricsOptions>;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

export interface TelemetryOptions {
  readonly serviceName?: string;
  readonly version: string;
  /** Extra span exporter (tests: an InMemorySpanExporter). */
  readonly spanExporter?: SpanExporter;
  /** Extra metric reader (tests). */
  readonly metricReader?: MetricReader;
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
  const { resource, scope } = telemetryIdentity(env, options.serviceName, options.version);
  // With the span worker (the default), the OTLP trace exporter is built in the worker, not here.
  const workerTarget = options.spanWorker === false ? undefined : otlpTargets(env).traces;
  const otlp = await otlpFromEnv(workerTarget === undefined ? env : { ...env, OTEL_TRACES_EXPORTER: 'none' });
  const describe: string[] = ['metrics: Prometheus on /metrics'];

  const prometheusExporter = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true });
  const readers: MetricReader[] = [prometheusExporter];
  if (options.metricReader) readers.push(options.metricReader);
  if (otlp.metrics) {
    readers.push(
      new PeriodicExportingMetricReader({
        exporter: otlp.metrics.exporter as PushMetricExporter,
        exportIntervalMillis: options.exportIntervalMillis ?? 15_000,
      }),
    );
    describe.push(`metrics: OTLP ${otlp.metrics.describe}`);
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

  const processors: SpanProcessor[] = [];
  if (otlp.traces) {
    processors.push(new BatchSpanProcessor({ exporter: otlp.traces.exporter, ...OTLP_SPAN_BATCHING }));
    describe.push(`traces: OTLP ${otlp.traces.describe}`);
  }
  if (options.spanExporter)
    processors.push(new BatchSpanProcessor({ exporter: options.spanExporter, maxQueueSize: 1_000_000, maxExportBatchSize: 4096, scheduledDelayMillis: 50 }));
  const worker =
    workerTarget === undefined
      ? undefined
      : new SpanWorker({
          target: workerTarget,
          env,
          serviceName: options.serviceName,
          version: options.version,
          ...(options.logger === undefined ? {} : { logger: options.logger }),
        });
  if (workerTarget !== undefined) describe.push(`traces: OTLP ${workerTarget.protocol} ${workerTarget.url} (span worker thread)`);
  if (processors.length === 0 && worker === undefined) describe.push('traces: off (set OTEL_EXPORTER_OTLP_ENDPOINT to export)');
  const spans: SpanProcessor | undefined =
    processors.length === 0
      ? undefined
      : processors.length === 1
        ? processors[0]!
        : {
            onStart: () => undefined,
            onEnd: (span) => {
              for (const p of processors) p.onEnd(span);
            },
            forceFlush: async () => {
              await Promise.all(processors.map((p) => p.forceFlush()));
            },
            shutdown: async () => {
              await Promise.all(processors.map((p) => p.shutdown()));
            },
          };

  const turnSpans = allSinks([...(spans === undefined ? [] : [spansInThread(spans, { resource, scope })]), ...(worker === undefined ? [] : [worker])]);
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
    forceFlush: async () => {
      await Promise.all([turnSpans?.forceFlush(), meterProvider.forceFlush()]);
    },
    shutdown: () => {
      shutdown ??= Promise.all([turnSpans?.shutdown(), meterProvider.shutdown()]).then(() => undefined);
      return shutdown;
    },
  };
}
