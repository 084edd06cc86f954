import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { DEFAULT_DECODE_LIMITS } from '../../src/events/decode-event.ts';
import { createPriceTable } from '../../src/events/price-table.ts';
import { createTelemetry, type Telemetry } from '../../src/exporters/create-telemetry.ts';
import { openEmbeddedPipeline, type EmbeddedPipeline } from '../../src/pipeline/open-embedded-pipeline.ts';
import { createHttpServer } from '../../src/sources/http-server.ts';
import { silentLogger } from '../../src/logger.ts';

export interface RunningPipeline {
  readonly dataDir: string;
  readonly url: string;
  readonly pipeline: EmbeddedPipeline;
  readonly telemetry: Telemetry;
  readonly spans: InMemorySpanExporter;
  /** Waits until everything ingested so far is processed and exported. */
  settle(): Promise<void>;
  /** Stops server and pipeline; keeps the data dir unless `remove`. */
  stop(options?: { remove?: boolean }): Promise<void>;
}

/** A real turnstream in-process: embedded store, telemetry with an in-memory span exporter, HTTP on a free port. */
export async function startPipeline(
  options: { dataDir?: string; token?: string; graceMs?: number; turnIdleTimeoutMs?: number; maxBodyBytes?: number; maxEventBytes?: number } = {},
): Promise<RunningPipeline> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'turnstream-'));
  const spans = new InMemorySpanExporter();
  const telemetry = await createTelemetry({ version: 'test', spanExporter: spans, env: {} });
  const pipeline = await openEmbeddedPipeline({
    dataDir,
    prices: createPriceTable(),
    telemetry,
    ...(options.graceMs === undefined ? {} : { graceMs: options.graceMs }),
    ...(options.turnIdleTimeoutMs === undefined ? {} : { turnIdleTimeoutMs: options.turnIdleTimeoutMs }),
    ...(options.maxEventBytes === undefined ? {} : { limits: { ...DEFAULT_DECODE_LIMITS, maxEventBytes: options.maxEventBytes } }),
  });
  const server: Server = createHttpServer({
    ingestor: pipeline.ingestor,
    metrics: telemetry.prometheus,
    logger: silentLogger,
    maxBodyBytes: options.maxBodyBytes ?? 8 * 1024 * 1024,
    health: () => ({ ok: true }),
    ...(options.token === undefined ? {} : { token: options.token }),
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    dataDir,
    url,
    pipeline,
    telemetry,
    spans,
    settle: async () => {
      await pipeline.pump.idle();
      await telemetry.forceFlush();
    },
    stop: async ({ remove = false } = {}) => {
      await new Promise((ok) => server.close(ok));
      await pipeline.close();
      await telemetry.shutdown();
      if (remove) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function post(url: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${url}/v1/events`, { method: 'POST', body, headers: { 'content-type': 'application/x-ndjson', ...headers } });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}
