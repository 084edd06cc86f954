import { resolve } from 'node:path';
import { decodeLimits } from './decode-limits.ts';
import { TurnstreamError } from '../errors.ts';
import type { PriceTable } from '../events/price-table.ts';
import type { Telemetry } from '../exporters/create-telemetry.ts';
import type { Logger } from '../logger.ts';
import type { Ingestor } from '../pipeline/ingestor.ts';
import { openEmbeddedPipeline } from '../pipeline/open-embedded-pipeline.ts';
import { openKafkaPipeline } from '../pipeline/open-kafka-pipeline.ts';
import type { Config } from './settings.ts';
import { loadBudgetRules } from '../streams/budget-rule.ts';
import { fanOutAlertSink, logAlertSink, webhookAlertSink, type AlertSink } from '../exporters/alert-sinks.ts';

/** What `start` runs on: the embedded store or Kafka, behind one face. */
export interface Backend {
  readonly ingestor: Ingestor;
  /** For the start-up log line. */
  readonly describe: Record<string, unknown>;
  health(): Record<string, unknown> & { ok: boolean };
  /** Events processed so far (log positions fed to the processor), for the "stopped" log line. */
  processed(): number;
  close(): Promise<void>;
}

export const brokerList = (value: string): string[] => value.split(',').map((b) => b.trim()).filter((b) => b !== '');

/** Opens the backend the configuration asks for: Kafka when `kafka` is set, else the embedded store. */
export async function openBackend(config: Config, prices: PriceTable, telemetry: Telemetry, logger: Logger): Promise<Backend> {
  const rules = config.budgets === undefined ? [] : loadBudgetRules(config.budgets);
  const sinks: AlertSink[] = [logAlertSink(logger)];
  if (config.alertWebhook !== undefined) sinks.push(webhookAlertSink({ url: config.alertWebhook, logger }));
  const common = {
    ...(rules.length === 0 ? {} : { budgets: { rules, sink: fanOutAlertSink(sinks) } }),
    prices,
    telemetry,
    logger,
    turnIdleTimeoutMs: config.turnIdleTimeoutMs,
    graceMs: config.graceMs,
    limits: decodeLimits(config),
  };
  if (config.kafka !== undefined) {
    const brokers = brokerList(config.kafka);
    let pipeline;
    try {
      pipeline = await openKafkaPipeline({ ...common, brokers, groupId: config.kafkaGroup, topicPrefix: config.kafkaTopicPrefix, partitions: config.kafkaPartitions });
    } catch (error) {
      if (error instanceof TurnstreamError) throw error;
      throw new TurnstreamError(`cannot start on Kafka at ${brokers.join(',')}: ${(error as Error).message}. Is the broker running (deploy/kafka/kafka.sh start)?`, { cause: error });
    }
    return {
      ingestor: pipeline.ingestor,
      describe: { kafka: brokers, group: config.kafkaGroup, topics: pipeline.topics.events, partitions: pipeline.partitions },
      health: () => {
        const progress = pipeline.progress();
        let lag = 0;
        for (const { processed, end } of progress.values()) lag += Math.max(0, end - processed);
        return { ok: true, status: 'ok', mode: 'kafka', assigned: pipeline.assigned(), lag };
      },
      processed: () => {
        let processed = 0;
        for (const p of pipeline.progress().values()) processed += p.processed;
        return processed;
      },
      close: () => pipeline.close(),
    };
  }
  const dataDir = resolve(config.dataDir);
  const deadLetterRetention = {
    maxRows: config.deadLetterMaxRows,
    maxRowsPerSource: Math.ceil(config.deadLetterMaxRows / 2),
    maxBytes: config.deadLetterMaxBytes,
    maxAgeMillis: config.deadLetterMaxAgeMs,
  };
  const pipeline = await openEmbeddedPipeline({ ...common, dataDir, sync: config.sync, deadLetterRetention });
  return {
    ingestor: pipeline.ingestor,
    describe: { dataDir },
    health: () => ({ ...pipeline.health() }),
    processed: () => pipeline.processor.position,
    close: () => pipeline.close(),
  };
}
