import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError } from '../../src/errors.ts';
import { createPriceTable } from '../../src/events/price-table.ts';
import { createTelemetry } from '../../src/exporters/create-telemetry.ts';
import { deterministicIds } from '../../src/exporters/deterministic-ids.ts';
import { otlpFromEnv } from '../../src/exporters/otlp-from-env.ts';
import { entries } from '../../src/exporters/span-worker-thread.ts';
import { silentLogger, type Logger } from '../../src/logger.ts';
import { decodeOtlp } from '../../src/otlp/decode-otlp.ts';
import { ZERO_USAGE } from '../../src/model/token-usage.ts';
import { ZERO_TOTALS, type LlmCallSummary, type TurnAggregate } from '../../src/model/turn-aggregate.ts';
import { openEmbeddedPipeline } from '../../src/pipeline/open-embedded-pipeline.ts';
import { splitNdjson } from '../../src/sources/split-ndjson.ts';
import { oddTurns } from '../helpers/odd-turns.ts';

interface Received {
  path: string;
  contentType: string;
  /** As received: `gzip` when the exporter compressed it (`body` is then the unzipped bytes). */
  contentEncoding: string | undefined;
  headers: NodeJS.Dict<string | string[]>;
  body: Buffer;
}

/** `n` completed turns of `calls` LLM calls each (1 + `calls` spans a turn), nothing else. */
function manyTurns(n: number, calls: number): TurnAggregate[] {
  const call = (t: number, i: number): LlmCallSummary => ({
    ...ZERO_USAGE,
    eventId: `e-${t}-${i}`,
    provider: 'anthropic',
    model: 'claude-sonnet-4-5',
    startMs: 1_000 + i,
    endMs: 1_001 + i,
    costSource: 'table',
  });
  return Array.from({ length: n }, (_, t) => ({
    ...ZERO_TOTALS,
    session: 's',
    turn: `t${t}`,
    revision: 0,
    status: 'completed',
    startMs: 1_000,
    endMs: 2_000,
    durationMs: 1_000,
    toolNames: [],
    models: [],
    llm: Array.from({ length: calls }, (_, i) => call(t, i)),
    tools: [],
    firstEventId: `e-${t}-0`,
    lastEventId: `e-${t}-${calls - 1}`,
    eventCount: calls,
    closedAtPos: t + 1,
  })) as TurnAggregate[];
}

/** An OTLP/HTTP receiver on loopback that records every request and answers success. */
async function receiver(status = 200): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const contentEncoding = req.headers['content-encoding'];
      const body = contentEncoding === 'gzip' ? gunzipSync(raw) : raw;
      received.push({ path: req.url ?? '', contentType: String(req.headers['content-type']), contentEncoding, headers: req.headers, body });
      const json = String(req.headers['content-type']).includes('json');
      res.writeHead(status, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
      res.end(json ? '{}' : '');
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received, server };
}

async function runExample(env: NodeJS.ProcessEnv, spanWorker?: boolean, logger?: Logger): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'turnstream-otlp-'));
  const telemetry = await createTelemetry({
    version: 'test',
    env,
    exportIntervalMillis: 60_000,
    ...(spanWorker === undefined ? {} : { spanWorker }),
    ...(logger === undefined ? {} : { logger }),
  });
  const pipeline = await openEmbeddedPipeline({ dataDir, prices: createPriceTable(), telemetry });
  await pipeline.ingestor.ingest(splitNdjson(readFileSync(new URL('../../examples/coding-session.ndjson', import.meta.url), 'utf8')), 'test');
  await pipeline.close(); // drains and force-flushes spans and metrics
  await telemetry.shutdown();
  rmSync(dataDir, { recursive: true, force: true });
}

interface JsonSpan {
  traceId: string;
  spanId: string;
  name: string;
  attributes: { key: string; value: { intValue?: number | string; stringValue?: string; doubleValue?: number } }[];
}

/** Every span of the OTLP/JSON trace requests received, with its resource's service.name. */
function jsonSpans(received: readonly Received[], path = '/v1/traces'): { spans: JsonSpan[]; serviceName: string | undefined } {
  const spans: JsonSpan[] = [];
  let serviceName: string | undefined;
  for (const t of received.filter((r) => r.path === path)) {
    const body = JSON.parse(t.body.toString()) as {
      resourceSpans: { resource: { attributes: JsonSpan['attributes'] }; scopeSpans: { spans: JsonSpan[] }[] }[];
    };
    for (const rs of body.resourceSpans) {
      serviceName ??= rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue;
      for (const ss of rs.scopeSpans) spans.push(...ss.spans);
    }
  }
  return { spans, serviceName };
}

describe('OTLP export driven by the standard OTEL_* variables', () => {
  let recv: Awaited<ReturnType<typeof receiver>>;
  before(async () => {
    recv = await receiver();
  });
  after(() => new Promise<void>((ok) => recv.server.close(() => ok())));

  it('sends spans and metrics as OTLP/HTTP JSON to OTEL_EXPORTER_OTLP_ENDPOINT', async () => {
    recv.received.length = 0;
    await runExample({ OTEL_EXPORTER_OTLP_ENDPOINT: recv.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_SERVICE_NAME: 'agents-prod' });
    assert.ok(
      recv.received.some((r) => r.path === '/v1/traces'),
      'no trace export arrived',
    );
    const { spans, serviceName } = jsonSpans(recv.received);
    assert.equal(serviceName, 'agents-prod');
    // 2 turns: turn-1 = root + 3 chat + 3 tools, turn-2 = root + 1 chat
    assert.equal(spans.length, 9);
    const root = spans.find((s) => s.name === 'invoke_agent claude-code' && s.traceId === deterministicIds.traceId('demo-1', 'turn-1'));
    assert.ok(root, 'root span of turn-1 with its deterministic trace id');
    assert.equal(root.spanId, deterministicIds.turnSpanId('demo-1', 'turn-1'));
    assert.equal(Number(root.attributes.find((a) => a.key === 'gen_ai.usage.input_tokens')?.value.intValue), 32200);
    const metrics = recv.received
      .filter((r) => r.path === '/v1/metrics')
      .map((r) => r.body.toString())
      .join('\n');
    assert.match(metrics, /"turnstream\.llm\.cost_usd"/);
    assert.match(metrics, /"gen_ai\.client\.token\.usage"/);
  });

  it('sends OTLP/HTTP protobuf by default, to a per-signal endpoint when given', async () => {
    recv.received.length = 0;
    await runExample({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${recv.url}/custom/traces`, OTEL_METRICS_EXPORTER: 'none' });
    const traces = recv.received.filter((r) => r.path === '/custom/traces');
    assert.ok(traces.length > 0);
    assert.equal(traces[0]?.contentType, 'application/x-protobuf');
    // protobuf carries trace ids as raw bytes
    const id = Buffer.from(deterministicIds.traceId('demo-1', 'turn-2'), 'hex');
    assert.ok(
      traces.some((t) => t.body.includes(id)),
      'trace id bytes of turn-2 in the protobuf body',
    );
    assert.equal(recv.received.filter((r) => r.path.includes('metrics')).length, 0, 'OTEL_METRICS_EXPORTER=none turns metrics off');
  });

  it('builds the same spans on the span worker thread as in the processing thread (ids, names, times, attributes)', async () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: recv.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_METRICS_EXPORTER: 'none' };
    const run = async (spanWorker: boolean): Promise<JsonSpan[]> => {
      recv.received.length = 0;
      await runExample(env, spanWorker);
      return jsonSpans(recv.received).spans.sort((a, b) => a.spanId.localeCompare(b.spanId));
    };
    const inThread = await run(false);
    const onWorker = await run(true);
    assert.equal(inThread.length, 9);
    assert.deepEqual(onWorker, inThread);
  });

  it("OTLP protobuf encoded on the span worker straight from the turns decodes to the SDK's spans (resource, scope, every field)", async () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: recv.url, OTEL_METRICS_EXPORTER: 'none', OTEL_SERVICE_NAME: 'agents-prod' };
    const run = async (spanWorker: boolean): Promise<unknown[]> => {
      recv.received.length = 0;
      await runExample(env, spanWorker);
      const traces = recv.received.filter((r) => r.path === '/v1/traces');
      assert.ok(traces.length > 0 && traces.every((t) => t.contentType === 'application/x-protobuf'));
      type Decoded = { resourceSpans: { resource: unknown; scopeSpans: { scope: unknown; spans: { spanId: string }[] }[] }[] };
      const out: { resource: unknown; scope: unknown; span: { spanId: string } }[] = [];
      for (const t of traces) {
        const body = JSON.parse(JSON.stringify(decodeOtlp('traces', 'protobuf', t.body))) as Decoded;
        for (const rs of body.resourceSpans)
          for (const ss of rs.scopeSpans) for (const span of ss.spans) out.push({ resource: rs.resource, scope: ss.scope, span });
      }
      return out.sort((a, b) => a.span.spanId.localeCompare(b.span.spanId));
    };
    const sdk = await run(false);
    const encoded = await run(true);
    assert.equal(sdk.length, 9);
    assert.deepEqual(encoded, sdk);
  });

  it('the span worker honours OTEL_EXPORTER_OTLP_COMPRESSION and _HEADERS (the SDK transport reads them)', async () => {
    recv.received.length = 0;
    process.env['OTEL_EXPORTER_OTLP_COMPRESSION'] = 'gzip';
    process.env['OTEL_EXPORTER_OTLP_HEADERS'] = 'x-team=agents';
    try {
      await runExample({ OTEL_EXPORTER_OTLP_ENDPOINT: recv.url, OTEL_METRICS_EXPORTER: 'none' }, true);
    } finally {
      delete process.env['OTEL_EXPORTER_OTLP_COMPRESSION'];
      delete process.env['OTEL_EXPORTER_OTLP_HEADERS'];
    }
    const traces = recv.received.filter((r) => r.path === '/v1/traces');
    assert.ok(traces.length > 0);
    for (const t of traces) {
      assert.equal(t.contentEncoding, 'gzip');
      assert.equal(t.headers['x-team'], 'agents');
    }
    const id = Buffer.from(deterministicIds.traceId('demo-1', 'turn-2'), 'hex');
    assert.ok(traces.some((t) => t.body.includes(id)));
  });

  it('spans a collector refuses are reported as lost (one warning with the count), not silently dropped', async () => {
    const refusing = await receiver(400);
    try {
      const warned: Record<string, unknown>[] = [];
      const logger = { ...silentLogger, warn: (message: string, fields?: Record<string, unknown>) => void warned.push({ message, ...fields }) };
      await runExample({ OTEL_EXPORTER_OTLP_ENDPOINT: refusing.url, OTEL_METRICS_EXPORTER: 'none' }, true, logger);
      const lost = warned.filter((w) => /spans lost/.test(String(w['message'])));
      assert.equal(lost.length, 1, JSON.stringify(warned));
      assert.equal(lost[0]!['failedSpans'], 9);
      assert.equal(lost[0]!['droppedSpans'], 0);
      assert.match(String(lost[0]!['error']), /400|Bad Request/);
    } finally {
      await new Promise<void>((ok) => refusing.server.close(() => ok()));
    }
  });

  it('a span worker thread that dies is logged and replaced: the spans of the next turns arrive', async () => {
    recv.received.length = 0;
    const logged: string[] = [];
    const logger = { ...silentLogger, error: (message: string) => void logged.push(message) };
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: recv.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_METRICS_EXPORTER: 'none' };
    const telemetry = await createTelemetry({ version: 'test', env, logger });
    try {
      // A turn without its call lists cannot even be packed for the thread: said here, nothing sent, nothing thrown.
      telemetry.turnSpans!.send([{ session: 's', turn: 't' } as unknown as TurnAggregate]);
      assert.match(logged.join('\n'), /spans lost: turns could not be packed/);
      logged.length = 0;
      // A turn the thread cannot read back (a bigint where it reads a number) throws there, uncaught: the thread exits.
      const [odd] = oddTurns(5, 1);
      telemetry.turnSpans!.send([{ ...odd!, revision: 1n } as unknown as TurnAggregate]);
      await telemetry.turnSpans!.forceFlush();
      for (let i = 0; i < 100 && logged.length === 0; i++) await new Promise((ok) => setTimeout(ok, 20));
      assert.match(logged.join('\n'), /span export thread failed/);
      const dataDir = mkdtempSync(join(tmpdir(), 'turnstream-otlp-'));
      const pipeline = await openEmbeddedPipeline({ dataDir, prices: createPriceTable(), telemetry });
      await pipeline.ingestor.ingest(splitNdjson(readFileSync(new URL('../../examples/coding-session.ndjson', import.meta.url), 'utf8')), 'test');
      await pipeline.close();
      rmSync(dataDir, { recursive: true, force: true });
      assert.equal(jsonSpans(recv.received).spans.length, 9);
    } finally {
      await telemetry.shutdown();
    }
  });

  it("a flush with the span queue full (32 batches) sends every span: none refused past the exporter's concurrency limit", async () => {
    recv.received.length = 0;
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: recv.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_METRICS_EXPORTER: 'none' };
    // 640 turns of 100 LLM calls: 64,640 spans, just under the queue's 65,536, queued in one go.
    const turns = manyTurns(640, 100);
    for (const spanWorker of [false, true]) {
      recv.received.length = 0;
      const telemetry = await createTelemetry({ version: 'test', env, spanWorker });
      try {
        telemetry.turnSpans!.send(turns);
        await telemetry.forceFlush();
        assert.equal(jsonSpans(recv.received).spans.length, 64_640, spanWorker ? 'span worker' : 'in thread');
      } finally {
        await telemetry.shutdown();
      }
    }
  });

  it('a large batch of turns leaves the span worker in requests of about 2,048 spans (OTLP protobuf), every span delivered', async () => {
    recv.received.length = 0;
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: recv.url, OTEL_METRICS_EXPORTER: 'none' };
    // 1,200 turns of 50 LLM calls: 61,200 spans handed over in one call (a large pump batch's turns).
    const turns = manyTurns(1_200, 50);
    const telemetry = await createTelemetry({ version: 'test', env, spanWorker: true });
    try {
      telemetry.turnSpans!.send(turns);
      await telemetry.forceFlush();
    } finally {
      await telemetry.shutdown();
    }
    type Decoded = { resourceSpans: { scopeSpans: { spans: unknown[] }[] }[] };
    const perRequest = recv.received
      .filter((r) => r.path === '/v1/traces')
      .map(
        (r) => (decodeOtlp('traces', 'protobuf', r.body) as unknown as Decoded).resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans)).length,
      );
    assert.equal(
      perRequest.reduce((a, b) => a + b, 0),
      61_200,
      'every span',
    );
    // Entries of at most 512 spans (whole turns), taken until a request holds 2,048: under 2,048 + 512
    // each (one entry of all 61,200 before, one request of ~30 MB).
    assert.ok(perRequest.length >= 24 && Math.max(...perRequest) < 2_048 + 512, `spans per request: ${perRequest.join(', ')}`);
  });

  it('the span worker encodes turns in parts of at most 512 spans, never splitting a turn', () => {
    const turn = (calls: number) => ({ llm: Array.from({ length: calls }), tools: [undefined] });
    const sizes = (ts: ReturnType<typeof turn>[]) => [...entries(ts)].map((p) => p.map((t) => 2 + t.llm.length));
    assert.deepEqual(sizes([turn(8), turn(8), turn(600), turn(8)]), [[10, 10], [602], [10]]);
    assert.deepEqual(
      sizes(Array.from({ length: 60 }, () => turn(8))).map((p) => p.length),
      [51, 9],
    );
    assert.deepEqual([...entries([])], []);
  });

  it('exports nothing over OTLP when no endpoint is set, and refuses gRPC with a clear error', async () => {
    assert.deepEqual(await otlpFromEnv({}), {});
    await assert.rejects(
      () => otlpFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }),
      (e: unknown) => e instanceof ConfigError && /grpc is not supported; use http\/protobuf/.test(e.message),
    );
  });
});
