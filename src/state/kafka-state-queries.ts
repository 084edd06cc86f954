import type { Kafka } from 'kafkajs';
import type { JsonValue } from '../model/json-value.ts';
import type { TopicNames } from '../kafka/topics.ts';
import type { Logger } from '../logger.ts';
import type { SessionTotals } from '../model/session-totals.ts';
import type { StateEntry } from '../model/state-write.ts';
import type { TurnRecord } from '../model/turn-record.ts';
import { KafkaStateView } from './kafka-state-view.ts';
import type { SessionStateStore, SessionSummary } from './session-state-store.ts';

export interface KafkaStateQueriesOptions {
  readonly kafka: Kafka;
  readonly topics: TopicNames;
  readonly logger: Logger;
  /** A serving pipeline's view (it holds the partitions the process owns); absent for a read-only command. */
  readonly view?: KafkaStateView;
  /**
   * Keep what a short-lived read found until `close` (a command: `sessions show` asks for totals,
   * state and turns of one session). A server reads afresh each time.
   */
  readonly keep?: boolean;
  readonly groupPrefix?: string;
}

/**
 * The state readers of Kafka mode (`get`, `list`, `totals`, `turns`, `sessions`). A session whose
 * partition the view holds is answered by the view, except its turns when the view keeps no turn
 * records (a pipeline's). Any other session, and those turns, are read from the partition
 * alone: a short-lived `KafkaStateView` holding that one partition and keeping only that session's
 * records. Its cost: a consumer group join (plus the broker's `group.initial.rebalance.delay.ms`,
 * 3 s by default, 0 in deploy/kafka), then one partition of the state and turns topics read from
 * the start — after compaction about one record per key of that partition's sessions, plus what the
 * cleaner has not compacted yet (it never touches the active segment) — of which only the session's
 * records are parsed and kept. `sessions` needs every session: the held partitions from memory, the
 * others by one such read of all of them (whole topics: a listing is not for a hot path).
 */
export class KafkaStateQueries implements Pick<SessionStateStore, 'get' | 'list' | 'totals' | 'sessions' | 'turns'> {
  private readonly o: KafkaStateQueriesOptions;
  private readonly kept = new Map<string, Promise<KafkaStateView>>();
  private partitions: number | undefined;

  constructor(o: KafkaStateQueriesOptions) {
    this.o = o;
  }

  async get(session: string, key: string): Promise<StateEntry | undefined> {
    return this.withView(session, (v) => v.get(session, key));
  }

  async list(session: string): Promise<Record<string, JsonValue>> {
    return this.withView(session, (v) => v.list(session));
  }

  async totals(session: string): Promise<SessionTotals | undefined> {
    return this.withView(session, (v) => v.sessionTotals(session));
  }

  /** A pipeline's view keeps no turn records (its memory would grow with turns): they are read from the session's partition. */
  async turns(session: string): Promise<TurnRecord[]> {
    if (this.o.view?.keepsTurnsOf(session) === true) return this.o.view.sessionTurns(session);
    return this.withReader(`session:${session}`, undefined, session, (v) => v.sessionTurns(session));
  }

  async sessions(options: { readonly limit?: number } = {}): Promise<SessionSummary[]> {
    const limit = options.limit ?? 1000;
    const held = (await this.o.view?.sessions({ limit })) ?? [];
    const all = Array.from({ length: await this.partitionCount() }, (_, p) => p);
    const others = all.filter((p) => this.o.view?.holds(p) !== true);
    if (others.length === 0) return held;
    const rest = await this.withReader('', others, undefined, (v) => v.sessions({ limit }));
    return [...held, ...rest].sort((a, b) => b.totals.lastMs - a.totals.lastMs || (a.session < b.session ? -1 : 1)).slice(0, limit);
  }

  private async partitionCount(): Promise<number> {
    if (this.o.view !== undefined) return this.o.view.partitions;
    if (this.partitions === undefined) {
      const admin = this.o.kafka.admin();
      await admin.connect();
      try {
        this.partitions = (await admin.fetchTopicMetadata({ topics: [this.o.topics.state] })).topics[0]?.partitions.length ?? 0;
      } finally {
        await admin.disconnect();
      }
    }
    return this.partitions;
  }

  private async withView<T>(session: string, read: (view: KafkaStateView) => Promise<T>): Promise<T> {
    const { view } = this.o;
    if (view?.holds(view.partitionOf(session))) return read(view);
    return this.withReader(`session:${session}`, undefined, session, read);
  }

  /** Reads with a short-lived view of `partitions` (default: the session's), kept for the next read when `keep`. */
  private async withReader<T>(
    key: string,
    partitions: number[] | undefined,
    session: string | undefined,
    read: (view: KafkaStateView) => Promise<T>,
  ): Promise<T> {
    let opened = this.o.keep === true ? this.kept.get(key) : undefined;
    if (opened === undefined) {
      opened = this.openReader(partitions, session);
      if (this.o.keep === true) this.kept.set(key, opened);
    }
    const view = await opened;
    try {
      return await read(view);
    } finally {
      if (this.o.keep !== true) await view.close();
    }
  }

  private async openReader(partitions: number[] | undefined, session: string | undefined): Promise<KafkaStateView> {
    const { kafka, topics, logger, groupPrefix = 'turnstream-read' } = this.o;
    const view = await KafkaStateView.open({ kafka, topics, logger, groupPrefix, scope: 'assigned', ...(session === undefined ? {} : { session }) });
    try {
      await view.assign(partitions ?? [view.partitionOf(session ?? '')]);
      await view.catchUp();
      return view;
    } catch (error) {
      await view.close().catch(() => undefined);
      throw error;
    }
  }

  /** Closes the readers kept (the pipeline's view is not this one's to close). */
  async close(): Promise<void> {
    const kept = [...this.kept.values()];
    this.kept.clear();
    await Promise.all(kept.map((v) => v.then((view) => view.close()).catch(() => undefined)));
  }
}
