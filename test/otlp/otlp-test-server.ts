import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createPriceTable } from '../../src/events/price-table.ts';
import type { StepEvent } from '../../src/events/step-event.ts';
import { createTelemetry, type Telemetry } from '../../src/exporters/create-telemetry.ts';
import { silentLogger } from '../../src/logger.ts';
import type { OtlpSignal } from '../../src/otlp/otlp-proto.ts';
import { otlpMessages } from '../../src/otlp/otlp-proto.ts';
import type { TraceBufferLimits } from '../../src/otlp/trace-buffer.ts';
import { openEmbeddedPipeline, type EmbeddedPipeline } from '../../src/pipeline/open-embedded-pipeline.ts';
import { createHttpServer, type IngestServer } from '../../src/sources/http-server.ts';

/** A real turnstream in-process (embedded store, HTTP on a free port) for OTLP tests. */
export interface OtlpTestServer {
  readonly url: string;
  readonly pipeline: EmbeddedPipeline;
  readonly server: IngestServer;
  readonly telemetry: Telemetry;
  /** Stores the spans waiting in the trace buffer and waits until everything is processed. */
  settle(): Promise<void>;
  /** Every event in the log, in log order. */
  events(): Promise<StepEvent[]>;
  stop(): Promise<void>;
}

export async function startOtlpServer(
  o: { token?: string; traceBuffer?: Partial<TraceBufferLimits>; maxBodyBytes?: number; turnIdleTimeoutMs?: number } = {},
): Promise<OtlpTestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'turnstream-otlp-'));
  const telemetry = await createTelemetry({ version: 'test', env: {} });
  const pipeline = await openEmbeddedPipeline({
    dataDir,
    prices: createPriceTable(),
    telemetry,
    ...(o.turnIdleTimeoutMs === undefined ? {} : { turnIdleTimeoutMs: o.turnIdleTimeoutMs }),
  });
  const server = createHttpServer({
    ingestor: pipeline.ingestor,
    metrics: telemetry.prometheus,
    logger: silentLogger,
    maxBodyBytes: o.maxBodyBytes ?? 8 * 1024 * 1024,
    health: () => ({ ok: true }),
    otlpTraceBuffer: { settleMs: 60_000, idleMs: 60_000, ...o.traceBuffer },
    ...(o.token === undefined ? {} : { token: o.token }),
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    pipeline,
    server,
    telemetry,
    settle: async () => {
      await server.otlp.flush();
      await pipeline.pump.idle();
    },
    events: async () => {
      const all: StepEvent[] = [];
      for await (const batch of pipeline.store.log.read()) for (const e of batch) all.push(e.event);
      return all;
    },
    stop: async () => {
      await server.otlp.close();
      await new Promise((ok) => server.close(ok));
      await pipeline.close();
      await telemetry.shutdown();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export type Encoding = 'protobuf' | 'json';
export const ENCODINGS: readonly Encoding[] = ['protobuf', 'json'];

export interface OtlpAnswer {
  readonly status: number;
  readonly contentType: string | null;
  readonly headers: Headers;
  /** The decoded `Export*ServiceResponse` (or `Status`) as plain JSON. */
  readonly body: Record<string, unknown>;
  readonly bytes: Buffer;
}

/** The request as protobuf bytes (OTLP JSON shape → official message types: hex ids become bytes) or JSON text. */
export function encodeRequest(signal: OtlpSignal, request: unknown, encoding: Encoding): Buffer {
  if (encoding === 'json') return Buffer.from(JSON.stringify(request));
  const { request: type } = otlpMessages(signal);
  return Buffer.from(type.encode(type.fromObject(hexIdsToBytes(request) as Record<string, unknown>)).finish());
}

function hexIdsToBytes(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(hexIdsToBytes);
  if (typeof v !== 'object' || v === null) return v;
  return Object.fromEntries(
    Object.entries(v).map(([k, x]) => [
      k,
      (k === 'traceId' || k === 'spanId' || k === 'parentSpanId') && typeof x === 'string' ? Buffer.from(x, 'hex') : hexIdsToBytes(x),
    ]),
  );
}

/** POSTs an OTLP request (built in OTLP JSON shape) to `/v1/<signal>` in the given encoding, optionally gzipped. */
export async function postOtlp(
  url: string,
  signal: OtlpSignal,
  request: unknown,
  encoding: Encoding,
  o: { gzip?: boolean; headers?: Record<string, string>; raw?: Buffer } = {},
): Promise<OtlpAnswer> {
  let body = o.raw ?? encodeRequest(signal, request, encoding);
  if (o.gzip === true) body = gzipSync(body);
  const res = await fetch(`${url}/v1/${signal}`, {
    method: 'POST',
    body,
    headers: {
      'content-type': encoding === 'json' ? 'application/json' : 'application/x-protobuf',
      ...(o.gzip === true ? { 'content-encoding': 'gzip' } : {}),
      ...o.headers,
    },
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  const contentType = res.headers.get('content-type');
  let parsed: Record<string, unknown> = {};
  if (contentType === 'application/json') parsed = bytes.length === 0 ? {} : (JSON.parse(bytes.toString('utf8')) as Record<string, unknown>);
  else if (res.status === 200) {
    const { response } = otlpMessages(signal);
    parsed = response.toObject(response.decode(bytes), { longs: Number }) as Record<string, unknown>;
  }
  return { status: res.status, contentType, headers: res.headers, body: parsed, bytes };
}
