import { TurnstreamError } from '../errors.ts';
import type { DecodeLimits } from '../events/decode-event.ts';
import type { PriceTable } from '../events/price-table.ts';
import { fanOutAlertSink, logAlertSink, webhookAlertSink, type AlertSink } from '../exporters/alert-sinks.ts';
import type { Telemetry } from '../exporters/create-telemetry.ts';
import { silentLogger, type Logger } from '../logger.ts';
import type { PipelineOptions } from '../pipeline/pipeline-options.ts';
import { loadBudgetRules } from '../streams/budget-rule.ts';
import type { Backend, BackendConfig, ServingBackend } from './backend.ts';
import { openEmbeddedBackend, readEmbeddedBackend } from './embedded-backend.ts';

/** Serving: ingest and process (`start`, `send --data-dir`, `import --data-dir`). */
export interface ServeOptions {
  readonly mode: 'serve';
  readonly prices: PriceTable;
  readonly telemetry?: Telemetry;
  readonly logger?: Logger;
  readonly limits?: DecodeLimits;
  /** Evaluate the configured budget rules and send alerts (log, webhook; Kafka: also the alerts topic). `start` does. */
  readonly liveAlerts?: boolean;
}

/**
 * Reading only: `report` (sessions, dead letters, recorded turns) or `replay` (the event log);
 * the purpose picks what must exist and how a missing store is explained.
 */
export interface ReadOptions {
  readonly mode: 'read';
  readonly purpose: 'report' | 'replay';
}

export type { BackendConfig };

export const brokerList = (value: string): string[] =>
  value
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b !== '');

/**
 * Opens the backend the configuration asks for: Kafka when `kafka` is set, else the embedded store
 * in `dataDir`. Fails with a `TurnstreamError` that says what to check (no data in the directory,
 * the broker unreachable, no topics).
 */
export function openBackend(config: BackendConfig, o: ServeOptions): Promise<ServingBackend>;
export function openBackend(config: BackendConfig, o: ReadOptions): Promise<Backend>;
export async function openBackend(config: BackendConfig, o: ServeOptions | ReadOptions): Promise<Backend> {
  const kafka = config.kafka === undefined ? undefined : brokerList(config.kafka);
  // The Kafka backend (and kafkajs) is loaded only when asked for: an embedded start does not pay for it.
  if (o.mode === 'read')
    return kafka === undefined ? readEmbeddedBackend(config, o.purpose) : (await kafkaBackend()).readKafkaBackend(config, kafka, o.purpose);
  const pipeline = pipelineOptions(config, o);
  if (kafka !== undefined && config.retainMs !== undefined)
    throw new TurnstreamError(
      '--retain applies to the embedded store; on Kafka the events topic keeps what its retention.ms says (set it with kafka-configs.sh on <prefix>.events)',
    );
  return kafka === undefined ? openEmbeddedBackend(config, pipeline) : (await kafkaBackend()).openKafkaBackend(config, kafka, pipeline);
}

const kafkaBackend = (): Promise<typeof import('./kafka-backend.ts')> => import('./kafka-backend.ts');

/** What both pipelines are configured with, budget alerts included when asked for. */
function pipelineOptions(config: BackendConfig, o: ServeOptions): PipelineOptions {
  const logger = o.logger ?? silentLogger;
  const rules = o.liveAlerts !== true || config.budgets === undefined ? [] : loadBudgetRules(config.budgets);
  const sinks = (): AlertSink[] => [
    logAlertSink(logger),
    ...(config.alertWebhook === undefined ? [] : [webhookAlertSink({ url: config.alertWebhook, logger })]),
  ];
  return {
    ...(rules.length === 0 ? {} : { budgets: { rules, sink: fanOutAlertSink(sinks()) } }),
    prices: o.prices,
    ...(o.telemetry === undefined ? {} : { telemetry: o.telemetry }),
    logger,
    ...(config.turnIdleTimeoutMs === undefined ? {} : { turnIdleTimeoutMs: config.turnIdleTimeoutMs }),
    ...(config.graceMs === undefined ? {} : { graceMs: config.graceMs }),
    checkpoints: {
      ...(config.checkpointEvery === undefined ? {} : { everyEvents: config.checkpointEvery }),
      ...(config.checkpointIntervalMs === undefined ? {} : { everyMs: config.checkpointIntervalMs }),
    },
    ...(o.limits === undefined ? {} : { limits: o.limits }),
  };
}
