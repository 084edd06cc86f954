import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { Meter } from '@opentelemetry/api';
import { HistogramProducer, type HistogramSource } from '../../src/exporters/histogram-producer.ts';

/** The same histograms as the SDK's own instruments on `meter` (the key is not used): the reference. */
function sdkHistograms(meter: Meter): HistogramSource {
  return {
    histogram(name, o) {
      const h = meter.createHistogram(name, { unit: o.unit, description: o.description, advice: { explicitBucketBoundaries: [...o.boundaries] } });
      return { record: (value, _key, attrs) => h.record(value, attrs()) };
    },
  };
}

const scope = { name: 'turnstream', version: 'test' };
const BOUNDARIES = [0, 1, 5, 10, 100];

interface Wired {
  readonly source: HistogramSource;
  readonly reader: PrometheusExporter;
  readonly provider: MeterProvider;
}

/** The Prometheus text of what `record` put into the histograms of `w.source`. */
async function prometheusText(w: Wired, record: (s: HistogramSource) => void): Promise<string> {
  record(w.source);
  const { resourceMetrics } = await w.reader.collect();
  await w.provider.shutdown();
  return new PrometheusSerializer().serialize(resourceMetrics);
}

function values(): number[] {
  // Values on the boundaries (buckets are upper-inclusive), between them, beyond the last, and 0.
  const xs = [0, 0, 1, 1, 5, 10, 100, 0.5, 3, 7.25, 99.9, 100.1, 5000];
  for (let i = 0; i < 200; i++) xs.push(((i * 7919) % 1300) / 10);
  return xs;
}

function recordAll(s: HistogramSource): void {
  const h = s.histogram('demo.latency', { unit: 's', description: 'demo', boundaries: BOUNDARIES });
  const xs = values();
  xs.forEach((v, i) => {
    const agent = i % 3 === 0 ? 'a' : 'b';
    h.record(v, agent, () => ({ agent, kind: 'x' }));
  });
  // Dropped as the SDK drops them.
  h.record(-1, 'a', () => ({ agent: 'a', kind: 'x' }));
  h.record(Number.NaN, 'a', () => ({ agent: 'a', kind: 'x' }));
}

describe('HistogramProducer', () => {
  it('gives Prometheus the same series, buckets, sums and counts as the SDK’s own histograms', async () => {
    const sdkReader = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true });
    const sdkProvider = new MeterProvider({ readers: [sdkReader] });
    const viaSdk = await prometheusText(
      { reader: sdkReader, provider: sdkProvider, source: sdkHistograms(sdkProvider.getMeter(scope.name, scope.version)) },
      recordAll,
    );
    const producer = new HistogramProducer(scope);
    const reader = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true, metricProducers: [producer] });
    const viaProducer = await prometheusText({ reader, provider: new MeterProvider({ readers: [reader] }), source: producer }, recordAll);
    assert.match(viaSdk, /demo_latency_bucket\{agent="a",kind="x",otel_scope_name="turnstream",otel_scope_version="test",le="5"\} 6\n/);
    assert.equal(viaProducer, viaSdk);
  });

  it('builds a label set’s attributes once, and reports cumulative data points with min and max', async () => {
    const producer = new HistogramProducer(scope);
    const h = producer.histogram('demo.calls', { unit: '{call}', description: 'calls', boundaries: [1, 2] });
    let built = 0;
    for (const v of [1, 2, 3, 2]) {
      h.record(v, 'k', () => {
        built++;
        return { k: 'v' };
      });
    }
    assert.equal(built, 1);
    const first = await producer.collect();
    h.record(0, 'k', () => ({ k: 'v' }));
    const second = await producer.collect();
    const point = (r: typeof first) =>
      r.resourceMetrics.scopeMetrics[0]!.metrics[0]!.dataPoints[0]!.value as {
        count: number;
        sum: number;
        min: number;
        max: number;
        buckets: { counts: number[] };
      };
    assert.deepEqual(point(first), { buckets: { boundaries: [1, 2], counts: [1, 2, 1] }, count: 4, sum: 8, min: 1, max: 3 });
    assert.deepEqual(point(second).buckets.counts, [2, 2, 1], 'cumulative: the second collection includes the first');
    assert.equal(point(second).min, 0);
    assert.equal(second.resourceMetrics.scopeMetrics[0]!.scope.name, 'turnstream');
  });
});
