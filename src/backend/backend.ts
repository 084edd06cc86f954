import type { DeadLetterStore } from '../log/dead-letter-store.ts';
import type { SyncMode } from '../log/open-sqlite.ts';
import type { Ingestor } from '../pipeline/ingestor.ts';
import type { ReplayLogs } from '../replay/open-replay-logs.ts';
import type { SessionStateStore } from '../state/session-state-store.ts';

/** What the commands read: committed state, dead letters, and the event log(s) for replay. */
export interface BackendReaders {
  readonly state: Pick<SessionStateStore, 'get' | 'list' | 'totals' | 'sessions' | 'turns'>;
  readonly deadLetters: Pick<DeadLetterStore, 'list' | 'countByReason'>;
  /** The log(s) replay reads; let go of by the backend's `close` (their own `close` releases nothing). */
  readonly log: ReplayLogs;
}

/** `/healthz`: ready or not, and what is failing, named (`ingest: disk full (SQLITE_FULL)`, `kafka: broker unreachable (…)`). */
export interface BackendHealth extends Record<string, unknown> {
  readonly ok: boolean;
  readonly status: string;
  readonly mode: 'embedded' | 'kafka';
  readonly fault?: string;
}

/**
 * The storage a command runs on, embedded or Kafka, behind one face: commands use this and never
 * an adapter class. A read-only open (`sessions`, `dead-letters`, `replay`) takes no lock and no
 * transactional producer, so it never disturbs (or fences) a running server.
 */
export interface Backend {
  readonly mode: 'embedded' | 'kafka';
  /** For messages: the data dir, or `Kafka <brokers> (<prefix>.*)`. */
  readonly where: string;
  /** For the start-up log line. */
  readonly describe: Record<string, unknown>;
  readonly readers: BackendReaders;
  /** Present when serving: where events go in. */
  readonly ingest?: Ingestor;
  /** Which of these event ids the log holds already, when the backend can tell cheaply (embedded). */
  readonly knownIds?: (ids: readonly string[]) => Set<string>;
  /** Resolves once what was ingested so far is processed (embedded); Kafka processes asynchronously, so at once. */
  settled(): Promise<void>;
  /** Serving: the truth about ingest and processing. Read-only: ok (nothing runs). */
  health(): BackendHealth;
  /** Events processed so far (log positions fed to the processor), for the "stopped" log line. */
  processed(): number;
  /** Serving: processes what is queued, flushes telemetry, lets go of the store. Idempotent. */
  close(): Promise<void>;
}

/** A serving backend: it has an ingestor. */
export interface ServingBackend extends Backend {
  readonly ingest: Ingestor;
}

/**
 * The settings a backend is opened with: the CLI's `Config` fits (declared here, not imported, so
 * the backend does not depend on the CLI). Unset ones take the adapters' defaults.
 */
export interface BackendConfig {
  /** Kafka brokers (`host:port,…`): Kafka when set, else the embedded store in `dataDir`. */
  readonly kafka?: string | undefined;
  readonly dataDir?: string;
  readonly kafkaGroup?: string;
  readonly kafkaTopicPrefix?: string;
  readonly kafkaPartitions?: number;
  readonly kafkaSessionTimeoutMs?: number;
  readonly sync?: SyncMode;
  readonly deadLetterMaxRows?: number;
  readonly deadLetterMaxBytes?: number;
  readonly deadLetterMaxAgeMs?: number;
  /** JSON file of live budget rules (serving with `liveAlerts` only). */
  readonly budgets?: string | undefined;
  readonly alertWebhook?: string | undefined;
  readonly turnIdleTimeoutMs?: number;
  readonly graceMs?: number;
  readonly checkpointEvery?: number;
  readonly checkpointIntervalMs?: number;
  /** Embedded only: logged events older than this (event time) are deleted once a checkpoint covers them. */
  readonly retainMs?: number | undefined;
  /** Embedded only: threads a start with no usable checkpoint rebuilds the open work on (default: the cores, at most 4). */
  readonly rebuildThreads?: number | undefined;
}
