import type { Kafka, Message, Producer, TopicMessages } from 'kafkajs';
import type { JsonValue } from '../model/json-value.ts';
import { partitionFor } from '../kafka/partition-for.ts';
import type { TopicNames } from '../kafka/topics.ts';
import type { Logger } from '../logger.ts';
import { applyDeltas, type SessionTotals } from '../model/session-totals.ts';
import { latestRevisions, toStoredTurn, turnRecord, type TurnRecord } from '../model/turn-record.ts';
import { encodeCheckpoint, type EncodedCheckpoint } from './kafka-checkpoint-records.ts';
import { positionKey, SEP, turnHeaders } from './kafka-state-records.ts';
import { KafkaStateView } from './kafka-state-view.ts';
import { TOTALS_KEY, type Checkpoint, type SessionStateStore, type SessionSummary, type StateCommit } from './session-state-store.ts';
import { stateEntry, winningWrites, type StateEntry, type StateVersion, type StateWrite } from '../model/state-write.ts';

export interface KafkaStateStoreOptions {
  readonly kafka: Kafka;
  readonly topics: TopicNames;
  /** Partitions of the topics (events, state and turns share the count). */
  readonly partitions: number;
  /** The partition whose log position this store commits (the processor's partition). */
  readonly partition?: number;
  /** Prefix of the transactional id `<prefix>-p<partition>`: one live writer per partition. */
  readonly transactionalIdPrefix?: string;
  readonly logger: Logger;
  /** A shared view; when absent the store opens (and closes) its own. */
  readonly view?: KafkaStateView;
}

/**
 * `SessionStateStore` on Kafka: last-write-wins state in the compacted `state` topic (a delete is
 * a tombstone: null value, its version in headers), session totals under a reserved key, the latest
 * turn aggregates in the compacted `turns` topic, the partition's log position and, when the batch
 * has one, the processor's checkpoint (gzip, chunked when big: `encodeCheckpoint`) — all written
 * in ONE Kafka transaction per commit, so the effects of a batch, the position they reflect and the
 * open work as of it become visible together or not at all. The transactional id is per partition,
 * so a new owner fences the old one (a zombie cannot commit). Reads come from a `KafkaStateView`.
 */
export class KafkaSessionStateStore implements SessionStateStore {
  readonly view: KafkaStateView;
  private readonly o: KafkaStateStoreOptions;
  private readonly partition: number;
  private readonly producer: Producer;
  /**
   * Single `set`/`delete` writes are one record each: atomic without a transaction, and much faster.
   * Connected on first use: a pipeline's stores only commit.
   */
  private single: Promise<Producer> | undefined;
  private readonly ownsView: boolean;
  private readonly logger: Logger;

  private constructor(o: KafkaStateStoreOptions, view: KafkaStateView, producer: Producer) {
    this.o = o;
    this.logger = o.logger.child('kafka');
    this.partition = o.partition ?? 0;
    this.view = view;
    this.producer = producer;
    this.ownsView = o.view === undefined;
  }

  /** Connects (fencing any previous writer of this partition) and waits until the view is current for it. */
  static async open(o: KafkaStateStoreOptions): Promise<KafkaSessionStateStore> {
    const partition = o.partition ?? 0;
    const producer = o.kafka.producer({
      transactionalId: `${o.transactionalIdPrefix ?? 'turnstream'}-p${partition}`,
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    });
    await producer.connect(); // initProducerId: aborts the previous owner's open transaction
    const view = o.view ?? (await KafkaStateView.open({ kafka: o.kafka, topics: o.topics, logger: o.logger }));
    if (o.view !== undefined) await view.catchUp({ partitions: [partition] });
    return new KafkaSessionStateStore(o, view, producer);
  }

  private stateMessage(session: string, key: string, entry: StateEntry): Message {
    const v = entry.version;
    return entry.deleted
      ? {
          key: `${session}${SEP}${key}`,
          value: null,
          partition: partitionFor(session, this.o.partitions),
          headers: { t: String(v.time), s: String(v.seq), i: v.id },
        }
      : {
          key: `${session}${SEP}${key}`,
          value: JSON.stringify({ value: entry.value, t: v.time, s: v.seq, i: v.id }),
          partition: partitionFor(session, this.o.partitions),
        };
  }

  /** The writes that take effect over what the view holds (the model's LWW rule). */
  private winners(writes: readonly StateWrite[]): StateWrite[] {
    return winningWrites(writes, (session, key) => this.view.entry(session, key)?.version);
  }

  /**
   * One transaction: the checkpoint's chunks first, each in a request of its own (the broker limits
   * each record batch, and one request carries one batch per partition), then everything else.
   */
  private async transact(topicMessages: TopicMessages[], chunks: readonly Message[] = []): Promise<void> {
    const tx = await this.producer.transaction();
    try {
      for (const chunk of chunks) await tx.send({ topic: this.o.topics.state, messages: [chunk], acks: -1 });
      await tx.sendBatch({ topicMessages, acks: -1 });
      await tx.commit();
    } catch (error) {
      await tx.abort().catch(() => undefined);
      throw error;
    }
  }

  async commit(batch: StateCommit): Promise<void> {
    const committed = this.positionSync();
    // A checkpoint alone may be saved at the committed position (a clean shutdown's); anything else
    // at or below it was applied already (exactly-once).
    const checkpointOnly =
      batch.position === committed && batch.checkpoint !== undefined && batch.writes.length + batch.deltas.length + batch.turns.length === 0;
    if (batch.position <= committed && !checkpointOnly) return;
    const checkpoint = batch.checkpoint === undefined ? undefined : await this.encode(batch.checkpoint);
    const writes = this.winners(batch.writes);
    const totals = applyDeltas(batch.deltas, (session) => this.totalsSync(session));
    const turns = latestRevisions(batch.turns).map(turnRecord);
    const stateMessages: Message[] = writes.map((w) => this.stateMessage(w.session, w.key, stateEntry(w)));
    for (const [session, t] of totals) {
      stateMessages.push({
        key: `${session}${SEP}${TOTALS_KEY}`,
        value: JSON.stringify({ totals: t, p: batch.position }),
        partition: partitionFor(session, this.o.partitions),
      });
    }
    stateMessages.push({ key: positionKey(this.partition), value: JSON.stringify({ position: batch.position }), partition: this.partition });
    stateMessages.push(...(checkpoint?.records ?? []));
    const topicMessages: TopicMessages[] = [{ topic: this.o.topics.state, messages: stateMessages }];
    if (turns.length > 0) {
      topicMessages.push({
        topic: this.o.topics.turns,
        messages: turns.map((t) => ({
          key: `${t.session}${SEP}${t.turn}`,
          value: JSON.stringify(toStoredTurn(t)),
          // What a view needs to keep the latest revision and answer lateness, without parsing the record.
          headers: turnHeaders(t),
          partition: partitionFor(t.session, this.o.partitions),
        })),
      });
    }
    await this.transact(topicMessages, checkpoint?.chunks);
    this.view.batch(() => {
      for (const w of writes) this.view.applyEntry(w.session, w.key, stateEntry(w));
      for (const [session, t] of totals) this.view.applyTotals(session, { totals: t, p: batch.position });
      this.view.applyTurns(turns);
    });
    this.view.applyPosition(this.partition, batch.position);
    if (checkpoint !== undefined) this.view.applyCheckpointRecords(this.partition, checkpoint.stored);
  }

  private async encode(checkpoint: Checkpoint): Promise<EncodedCheckpoint> {
    const encoded = await encodeCheckpoint(this.partition, checkpoint, { staleSlots: this.view.checkpointSlots(this.partition) });
    this.logger.debug('checkpoint', { partition: this.partition, position: checkpoint.position, bytes: encoded.bytes, chunks: encoded.chunks.length });
    return encoded;
  }

  /** The partition's latest checkpoint; undefined when there is none or it is unusable (logged: the processor then rebuilds from the log). */
  async checkpoint(): Promise<Checkpoint | undefined> {
    const read = await this.view.checkpoint(this.partition);
    if (read === undefined) return undefined;
    if (read.ok) return read.checkpoint;
    this.logger.warn('the stored checkpoint is unusable; rebuilding from the start of the partition', { partition: this.partition, reason: read.reason });
    return undefined;
  }

  /** `closedAtPos` of the stored (latest) revision of a turn of this partition, from the view. */
  closedTurnAt(session: string, turn: string): number | undefined {
    return this.view.closedTurnAt(session, turn);
  }

  private async writeOne(w: StateWrite): Promise<void> {
    if (this.winners([w]).length === 0) return;
    const e = stateEntry(w);
    this.single ??= (async () => {
      const single = this.o.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
      await single.connect();
      return single;
    })();
    await (await this.single).send({ topic: this.o.topics.state, messages: [this.stateMessage(w.session, w.key, e)], acks: -1 });
    this.view.applyEntry(w.session, w.key, e);
  }

  async set(session: string, key: string, value: JsonValue, version: StateVersion): Promise<void> {
    await this.writeOne({ session, key, deleted: false, value, version });
  }

  async delete(session: string, key: string, version: StateVersion): Promise<void> {
    await this.writeOne({ session, key, deleted: true, version });
  }

  get(session: string, key: string): Promise<StateEntry | undefined> {
    return this.view.get(session, key);
  }

  list(session: string): Promise<Record<string, JsonValue>> {
    return this.view.list(session);
  }

  positionSync(): number {
    return this.view.positions.get(this.partition) ?? 0;
  }

  async position(): Promise<number> {
    return this.positionSync();
  }

  private totalsSync(session: string): SessionTotals | undefined {
    return this.view.totalsOf(session);
  }

  totals(session: string): Promise<SessionTotals | undefined> {
    return this.view.sessionTotals(session);
  }

  sessions(options: { limit?: number } = {}): Promise<SessionSummary[]> {
    return this.view.sessions(options);
  }

  turns(session: string): Promise<TurnRecord[]> {
    return this.view.sessionTurns(session);
  }

  async close(): Promise<void> {
    await Promise.all([this.producer.disconnect(), this.single?.then((p) => p.disconnect())]);
    if (this.ownsView) await this.view.close();
  }
}
