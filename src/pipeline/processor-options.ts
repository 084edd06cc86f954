import type { OpenWork } from './checkpoint-codec.ts';
import type { PriceTable } from '../events/price-table.ts';
import type { EventLog } from '../log/event-log.ts';
import type { DeadLetterStore } from '../log/dead-letter-store.ts';
import type { StateCommitTarget } from '../state/session-state-store.ts';
import type { TurnAggregate } from '../model/turn-aggregate.ts';
import type { BudgetRule } from '../streams/budget-rule.ts';
import type { AlertSink } from '../exporters/alert-sinks.ts';
import type { TurnTiming } from '../streams/window-turns.ts';
import type { TurnSpanSink } from '../exporters/turn-span-sink.ts';
import type { PipelineMetrics } from '../exporters/pipeline-metrics.ts';
import type { Logger } from '../logger.ts';

export interface ProcessorOptions {
  /** Where `start()`/`catchUp()` read from; not needed when batches are pushed (`restore()` + `process()`). */
  readonly log?: EventLog;
  /** Where effects are committed: only `commit` and `position` are used. */
  readonly state: StateCommitTarget;
  readonly deadLetters: DeadLetterStore;
  readonly prices: PriceTable;
  readonly metrics?: PipelineMetrics;
  /** Where closed turns go for their spans (built there: in this thread or the span worker's). */
  readonly spans?: TurnSpanSink;
  readonly windows?: TurnTiming;
  readonly logger?: Logger;
  /** Live budget rules and where their alerts go (after the batch's effects are committed). */
  readonly budgets?: { readonly rules: readonly BudgetRule[]; readonly sink: AlertSink };
  /** Deduplicate by event id in the turn windows (for logs that do not dedupe on append). */
  readonly dedupe?: boolean;
  /** Called with every aggregate that takes effect (tests, benchmarks, alerting). */
  readonly onAggregate?: (a: TurnAggregate) => void;
  /** The stored text at a log position: the raw bytes of a `processing_error` dead letter. */
  readonly rawAt?: (pos: number) => string | undefined;
  /** How often the open work is checkpointed with a commit (when the target keeps checkpoints). */
  readonly checkpoints?: CheckpointOptions;
  /**
   * Events fed between two turns of the event loop within one batch (default `FEED_SLICE_EVENTS`);
   * the batch still commits once, after its last event.
   */
  readonly feedSliceEvents?: number;
  /**
   * The open work as of `through` (the committed position) rebuilt from the start of the log
   * without this processor feeding it, e.g. in shards on other threads (`shardedRebuild`); undefined
   * when it cannot be: then the processor feeds the log from its start itself.
   */
  readonly rebuildFromStart?: (through: number) => Promise<Omit<OpenWork, 'poisoned'> | undefined>;
}

export interface CheckpointOptions {
  /** Checkpoint once this many events were fed since the last one. Default 100,000; 0 turns checkpoints off. */
  readonly everyEvents?: number;
  /** …or once this much wall time passed since the last one (with at least one new event). Default 30 s. */
  readonly everyMs?: number;
  /**
   * At most this much time of each batch (and of each idle turn of the pump) goes to encoding a
   * checkpoint, beyond taking its snapshot in the batch it is due: a big one (~5 MB of open work,
   * ~130 ms of CPU on the bench machine) is committed with a later batch instead of stalling one.
   * Default 1 ms (5 ms measured worse at 10k events/s: the encoding then took the main thread's
   * idle time and events queued behind it); Infinity encodes it whole in the batch it is due.
   */
  readonly sliceMs?: number;
  /**
   * …and of the time since it was taken, at most this share: a checkpoint that needs 200 ms of CPU
   * is whole after ~2 s at 0.1, instead of adding its CPU to the main thread's load within half a
   * second (at 10k events/s, with the main thread half busy, events then queued behind it).
   * Default 0.1; 1 lets it use every slice it gets.
   */
  readonly share?: number;
}

export const CHECKPOINT_DEFAULTS = { everyEvents: 100_000, everyMs: 30_000, sliceMs: 1, share: 0.1 } as const satisfies Required<CheckpointOptions>;

/**
 * A batch is fed in slices of this many events, the event loop let in between (one commit after
 * the last): ingest's appends are acknowledged and the next batches decoded and handed to the log
 * writer thread while the rest of a large batch is fed, instead of the writer idling through it and
 * the main thread then idling for its appends. Measured with the pump's bound on a batch (see
 * `MAX_BATCH_EVENTS`, which is what the slices need to pay); slicing the pump instead (a commit per
 * slice) had been 14 % slower.
 */
export const FEED_SLICE_EVENTS = 2000;
