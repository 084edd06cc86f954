import { parseDuration } from '../units/parse-duration.ts';
import { parseChoice, parsePort, parsePositiveInt, parsePositiveNumber, parseSize, parseString } from './parse-values.ts';

/**
 * Every setting, once: its flag, environment variable, config-file key, default and meaning.
 * `resolveConfig` reads them in the order flag > environment > config file > default, and `--help`
 * prints this table, so the documentation cannot drift from the code.
 */
export interface Setting<T> {
  readonly key: string;
  readonly flag: string;
  readonly env: string;
  readonly default: T;
  readonly parse: (value: string | number) => T;
  readonly help: string;
  /** Secrets can come from the environment or a file, never a flag (flags show up in `ps`). */
  readonly noFlag?: boolean;
}

const setting = <T>(s: Setting<T>): Setting<T> => s;

export const SETTINGS = {
  dataDir: setting({
    key: 'dataDir',
    flag: 'data-dir',
    env: 'TURNSTREAM_DATA_DIR',
    default: './.turnstream',
    parse: parseString,
    help: 'embedded store directory (event log, state, dead letters)',
  }),
  host: setting({
    key: 'host',
    flag: 'host',
    env: 'TURNSTREAM_HOST',
    default: '127.0.0.1',
    parse: parseString,
    help: 'address to listen on (0.0.0.0 exposes it to the network)',
  }),
  port: setting({
    key: 'port',
    flag: 'port',
    env: 'TURNSTREAM_PORT',
    default: 8787,
    parse: parsePort,
    help: 'HTTP port for ingest, /metrics and /healthz (0 = any free port)',
  }),
  url: setting({
    key: 'url',
    flag: 'url',
    env: 'TURNSTREAM_URL',
    default: undefined as string | undefined,
    parse: parseString,
    help: 'a running turnstream to send to, e.g. http://127.0.0.1:8787',
  }),
  token: setting({
    key: 'token',
    flag: 'token',
    env: 'TURNSTREAM_TOKEN',
    default: undefined as string | undefined,
    parse: parseString,
    help: 'bearer token required on POST /v1/events (env or config only)',
    noFlag: true,
  }),
  tokenFile: setting({
    key: 'tokenFile',
    flag: 'token-file',
    env: 'TURNSTREAM_TOKEN_FILE',
    default: undefined as string | undefined,
    parse: parseString,
    help: 'file holding the bearer token',
  }),
  prices: setting({
    key: 'prices',
    flag: 'prices',
    env: 'TURNSTREAM_PRICES',
    default: undefined as string | undefined,
    parse: parseString,
    help: 'JSON price file overriding/extending the built-in table (USD per million tokens)',
  }),
  turnIdleTimeoutMs: setting({
    key: 'turnIdleTimeout',
    flag: 'turn-idle-timeout',
    env: 'TURNSTREAM_TURN_IDLE_TIMEOUT',
    default: 600_000,
    parse: parseDuration,
    help: 'event-time idle after which an open turn closes as abandoned',
  }),
  graceMs: setting({
    key: 'grace',
    flag: 'grace',
    env: 'TURNSTREAM_GRACE',
    default: 300_000,
    parse: parseDuration,
    help: 'event time a closed turn still accepts late events (revisions)',
  }),
  maxBodyBytes: setting({
    key: 'maxBody',
    flag: 'max-body',
    env: 'TURNSTREAM_MAX_BODY',
    default: 8 * 1024 * 1024,
    parse: parseSize,
    help: 'largest HTTP ingest body',
  }),
  maxInflightBodyBytes: setting({
    key: 'maxInflightBody',
    flag: 'max-inflight-body',
    env: 'TURNSTREAM_MAX_INFLIGHT_BODY',
    default: 64 * 1024 * 1024,
    parse: parseSize,
    help: 'request body bytes held across all connections at once; beyond it ingest answers 503 + Retry-After',
  }),
  bodyIdleTimeoutMs: setting({
    key: 'bodyIdleTimeout',
    flag: 'body-idle-timeout',
    env: 'TURNSTREAM_BODY_IDLE_TIMEOUT',
    default: 30_000,
    parse: parseDuration,
    help: 'longest wait for the next chunk of a request body (then 408)',
  }),
  bodyTimeoutMs: setting({
    key: 'bodyTimeout',
    flag: 'body-timeout',
    env: 'TURNSTREAM_BODY_TIMEOUT',
    default: 60_000,
    parse: parseDuration,
    help: 'longest time to receive a whole request body (then 408)',
  }),
  maxRequestDeadLetters: setting({
    key: 'maxRequestDeadLetters',
    flag: 'max-request-dead-letters',
    env: 'TURNSTREAM_MAX_REQUEST_DEAD_LETTERS',
    default: 100,
    parse: parsePositiveInt,
    help: 'rejected inputs kept (and listed in the answer) one by one per request; the rest as one summary',
  }),
  deadLetterMaxRows: setting({
    key: 'deadLetterMaxRows',
    flag: 'dead-letter-max-rows',
    env: 'TURNSTREAM_DEAD_LETTER_MAX_ROWS',
    default: 100_000,
    parse: parsePositiveInt,
    help: 'dead letters kept in total (one source at most half); the oldest go first',
  }),
  deadLetterMaxBytes: setting({
    key: 'deadLetterMaxBytes',
    flag: 'dead-letter-max-bytes',
    env: 'TURNSTREAM_DEAD_LETTER_MAX_BYTES',
    default: 256 * 1024 * 1024,
    parse: parseSize,
    help: 'raw bytes of dead letters kept in total; the oldest go first',
  }),
  deadLetterMaxAgeMs: setting({
    key: 'deadLetterMaxAge',
    flag: 'dead-letter-max-age',
    env: 'TURNSTREAM_DEAD_LETTER_MAX_AGE',
    default: 7 * 24 * 3_600_000,
    parse: parseDuration,
    help: 'dead letters older than this are trimmed (e.g. 168h)',
  }),
  metricLabelValues: setting({
    key: 'metricLabelValues',
    flag: 'metric-label-values',
    env: 'TURNSTREAM_METRIC_LABEL_VALUES',
    default: 200,
    parse: parsePositiveInt,
    help: 'distinct values a producer-chosen metric label (model, agent, tool, …) keeps; later ones read "other"',
  }),
  metricLabelSets: setting({
    key: 'metricLabelSets',
    flag: 'metric-label-sets',
    env: 'TURNSTREAM_METRIC_LABEL_SETS',
    default: 1000,
    parse: parsePositiveInt,
    help: 'label combinations a counter family keeps (e.g. provider × model × agent); later ones read "other"',
  }),
  metricHistogramLabelSets: setting({
    key: 'metricHistogramLabelSets',
    flag: 'metric-histogram-label-sets',
    env: 'TURNSTREAM_METRIC_HISTOGRAM_LABEL_SETS',
    default: 25,
    parse: parsePositiveInt,
    help: 'label combinations a histogram family keeps (each costs ~17 series)',
  }),
  maxEventBytes: setting({
    key: 'maxEvent',
    flag: 'max-event',
    env: 'TURNSTREAM_MAX_EVENT',
    default: 64 * 1024,
    parse: parseSize,
    help: 'largest single event',
  }),
  maxAttributes: setting({
    key: 'maxAttributes',
    flag: 'max-attributes',
    env: 'TURNSTREAM_MAX_ATTRIBUTES',
    default: 32,
    parse: parsePositiveInt,
    help: 'most attrs entries on one event',
  }),
  maxDepth: setting({
    key: 'maxDepth',
    flag: 'max-depth',
    env: 'TURNSTREAM_MAX_DEPTH',
    default: 32,
    parse: parsePositiveInt,
    help: 'deepest nesting of any JSON value in an event (the event object is level 1); deeper is too_deep',
  }),
  maxTokensPerCall: setting({
    key: 'maxTokensPerCall',
    flag: 'max-tokens-per-call',
    env: 'TURNSTREAM_MAX_TOKENS_PER_CALL',
    default: 100_000_000,
    parse: parsePositiveInt,
    help: 'largest token count of one kind in one LLM call; more is out_of_range',
  }),
  maxCostPerCallUsd: setting({
    key: 'maxCostPerCall',
    flag: 'max-cost-per-call',
    env: 'TURNSTREAM_MAX_COST_PER_CALL',
    default: 10_000,
    parse: parsePositiveNumber,
    help: 'largest cost of one LLM call, USD; more is out_of_range',
  }),
  maxFutureSkewMs: setting({
    key: 'maxFutureSkew',
    flag: 'max-future-skew',
    env: 'TURNSTREAM_MAX_FUTURE_SKEW',
    default: 300_000,
    parse: parseDuration,
    help: 'how far in the future an event time may be',
  }),
  budgets: setting({
    key: 'budgets',
    flag: 'budgets',
    env: 'TURNSTREAM_BUDGETS',
    default: undefined as string | undefined,
    parse: parseString,
    help: 'JSON file of live budget rules (soft/hard USD thresholds per session, agent, user, global)',
  }),
  alertWebhook: setting({
    key: 'alertWebhook',
    flag: 'alert-webhook',
    env: 'TURNSTREAM_ALERT_WEBHOOK',
    default: undefined as string | undefined,
    parse: parseString,
    help: 'URL that receives each budget alert as a JSON POST (retried with backoff)',
  }),
  kafka: setting({
    key: 'kafka',
    flag: 'kafka',
    env: 'TURNSTREAM_KAFKA_BROKERS',
    default: undefined as string | undefined,
    parse: parseString,
    help: 'Kafka brokers (host:port,…): run on Kafka instead of the embedded store',
  }),
  kafkaGroup: setting({
    key: 'kafkaGroup',
    flag: 'kafka-group',
    env: 'TURNSTREAM_KAFKA_GROUP',
    default: 'turnstream',
    parse: parseString,
    help: 'consumer group shared by the turnstream processes of one deployment',
  }),
  kafkaTopicPrefix: setting({
    key: 'kafkaTopicPrefix',
    flag: 'kafka-topic-prefix',
    env: 'TURNSTREAM_KAFKA_TOPIC_PREFIX',
    default: 'turnstream',
    parse: parseString,
    help: 'topic names: <prefix>.events, <prefix>.state, <prefix>.turns, …',
  }),
  kafkaPartitions: setting({
    key: 'kafkaPartitions',
    flag: 'kafka-partitions',
    env: 'TURNSTREAM_KAFKA_PARTITIONS',
    default: 6,
    parse: parsePositiveInt,
    help: 'partitions of topics created at start (existing topics keep theirs)',
  }),
  sync: setting({
    key: 'sync',
    flag: 'sync',
    env: 'TURNSTREAM_SYNC',
    default: 'normal' as 'normal' | 'full',
    parse: parseChoice(['normal', 'full'] as const),
    help: 'SQLite durability: normal survives kill -9, full also power loss',
  }),
};

export type SettingName = keyof typeof SETTINGS;
export type Config = { -readonly [K in SettingName]: (typeof SETTINGS)[K]['default'] };
