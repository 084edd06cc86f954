import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { loadPriceTable } from '../events/price-table.ts';
import { createTelemetry } from '../exporters/create-telemetry.ts';
import { createLogger, type Logger } from '../logger.ts';
import { openBackend } from '../backend/open-backend.ts';
import { decodeLimits } from './decode-limits.ts';
import { createHttpServer } from '../sources/http-server.ts';
import { TurnstreamError } from '../errors.ts';
import { version } from './version.ts';
import { recordPrices } from './price-record.ts';
import { resolveConfig } from './resolve-config.ts';
import { out } from './output.ts';

/**
 * `turnstream start`: the composition root. Wires the backend (embedded SQLite store, or Kafka
 * with --kafka), OpenTelemetry (Prometheus always, OTLP from OTEL_* variables) and the HTTP server,
 * then runs until SIGINT/SIGTERM, when it stops accepting, drains the queue, flushes telemetry
 * and releases the data dir.
 */
export async function start(flags: Record<string, string | boolean | undefined>): Promise<number> {
  const config = resolveConfig(flags);
  const logger = createLogger();
  const prices = loadPriceTable(config.prices === undefined ? {} : { file: config.prices });
  const telemetry = await createTelemetry({
    version: version(),
    maxLabelValues: config.metricLabelValues,
    maxLabelSets: config.metricLabelSets,
    maxHistogramLabelSets: config.metricHistogramLabelSets,
  });
  const backend = await openBackend(config, { mode: 'serve', prices, telemetry, logger, limits: decodeLimits(config), liveAlerts: true });
  // Replay prices as this run does: the table is recorded beside the embedded store (Kafka: not recorded).
  if (config.kafka === undefined) recordPrices(config.dataDir, config.prices);
  const server = createHttpServer({
    ingestor: backend.ingest,
    metrics: telemetry.prometheus,
    logger: logger.child('http'),
    maxBodyBytes: config.maxBodyBytes,
    maxInflightBodyBytes: config.maxInflightBodyBytes,
    bodyIdleTimeoutMillis: config.bodyIdleTimeoutMs,
    bodyTimeoutMillis: config.bodyTimeoutMs,
    maxRequestDeadLetters: config.maxRequestDeadLetters,
    ...(config.token === undefined ? {} : { token: config.token }),
    health: () => backend.health(),
  });
  const url = await listen(server, config.host, config.port, async () => {
    await backend.close();
    await telemetry.shutdown();
  });
  logger.info('turnstream started', {
    url,
    ...backend.describe,
    processed: backend.processed(),
    auth: config.token === undefined ? 'off' : 'bearer',
    telemetry: telemetry.describe,
  });
  const where = config.kafka === undefined ? `data in ${resolve(config.dataDir)}` : `Kafka ${config.kafka}, group ${config.kafkaGroup}`;
  out.note(`turnstream ${version()} listening on ${url}  (ingest POST ${url}/v1/events, metrics ${url}/metrics; ${where})`);
  await untilSignal(logger, async () => {
    server.close();
    server.closeIdleConnections();
    await server.otlp.close(); // spans still waiting for their trace go to the log before it closes
    await backend.close();
    await telemetry.shutdown();
    logger.info('stopped', { ...backend.describe, processed: backend.processed() });
  });
  return 0;
}

/** Listens on host:port; on failure runs `release` and says what to change. Resolves to the URL. */
async function listen(server: Server, host: string, port: number, release: () => Promise<void>): Promise<string> {
  try {
    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(port, host, () => ok());
    });
  } catch (error) {
    await release();
    const code = (error as NodeJS.ErrnoException).code;
    throw new TurnstreamError(
      code === 'EADDRINUSE'
        ? `port ${port} on ${host} is in use; choose another with --port (0 = any free port)`
        : `cannot listen on ${host}:${port}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const bound = (server.address() as AddressInfo).port;
  return `http://${host.includes(':') ? `[${host}]` : host}:${bound}`;
}

/**
 * Resolves after the first SIGINT/SIGTERM once `shutdown` (stop accepting, drain, flush) is done.
 * A second signal exits at once; a shutdown still running after 20 s exits with 1 (a broker that
 * is gone must not keep the process alive; unprocessed events stay in the log).
 */
function untilSignal(logger: Logger, shutdown: () => Promise<void>): Promise<void> {
  return new Promise<void>((done) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) {
        out.note('turnstream: second signal, exiting now');
        process.exit(130);
      }
      stopping = true;
      logger.info('shutting down', { signal });
      const timeout = setTimeout(() => {
        logger.error('shutdown did not finish within 20 s; exiting (unprocessed events stay in the log)');
        process.exit(1);
      }, 20_000);
      timeout.unref();
      void shutdown().then(done);
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}
