import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { loadPriceTable } from '../events/price-table.ts';
import { createTelemetry } from '../exporters/create-telemetry.ts';
import { createLogger } from '../logger.ts';
import { openBackend } from './open-backend.ts';
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
  const telemetry = createTelemetry({
    version: version(),
    maxLabelValues: config.metricLabelValues,
    maxLabelSets: config.metricLabelSets,
    maxHistogramLabelSets: config.metricHistogramLabelSets,
  });
  const backend = await openBackend(config, prices, telemetry, logger);
  // Replay prices as this run does: the table is recorded beside the embedded store (Kafka: not recorded).
  if (config.kafka === undefined) recordPrices(config.dataDir, config.prices);
  const server = createHttpServer({
    ingestor: backend.ingestor,
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
  try {
    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(config.port, config.host, () => ok());
    });
  } catch (error) {
    await backend.close();
    await telemetry.shutdown();
    const code = (error as NodeJS.ErrnoException).code;
    throw new TurnstreamError(code === 'EADDRINUSE' ? `port ${config.port} on ${config.host} is in use; choose another with --port (0 = any free port)` : `cannot listen on ${config.host}:${config.port}: ${(error as Error).message}`, { cause: error });
  }
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  logger.info('turnstream started', { url, ...backend.describe, processed: backend.processed(), auth: config.token === undefined ? 'off' : 'bearer', telemetry: telemetry.describe });
  const where = config.kafka === undefined ? `data in ${resolve(config.dataDir)}` : `Kafka ${config.kafka}, group ${config.kafkaGroup}`;
  out.note(`turnstream ${version()} listening on ${url}  (ingest POST ${url}/v1/events, metrics ${url}/metrics; ${where})`);

  await new Promise<void>((done) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        out.note('turnstream: second signal, exiting now');
        process.exit(130);
      }
      stopping = true;
      logger.info('shutting down', { signal });
      server.close();
      server.closeIdleConnections();
      // Bounded: a broker that is gone must not keep the process from exiting.
      const timeout = setTimeout(() => {
        logger.error('shutdown did not finish within 20 s; exiting (unprocessed events stay in the log)');
        process.exit(1);
      }, 20_000);
      timeout.unref();
      void (async () => {
        await backend.close();
        await telemetry.shutdown();
        logger.info('stopped', { ...backend.describe, processed: backend.processed() });
        done();
      })();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  return 0;
}
