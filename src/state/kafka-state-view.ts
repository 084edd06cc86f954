import { randomUUID } from 'node:crypto';
import type { Admin, Batch, Consumer, Kafka } from 'kafkajs';
import type { JsonValue } from '../model/json-value.ts';
import { partitionFor } from '../kafka/partition-for.ts';
import { partitionCount, type TopicNames } from '../kafka/topics.ts';
import { whenRunning } from '../log/kafka-consumer-running.ts';
import type { Logger } from '../logger.ts';
import type { SessionTotals } from '../model/session-totals.ts';
import type { StateEntry } from '../model/state-write.ts';
import type { TurnRecord } from '../model/turn-record.ts';
import type { ReadCheckpoint } from './kafka-checkpoint-records.ts';
import { SessionIndex } from './session-index.ts';
import { TurnIndex } from './turn-index.ts';
import { KafkaPartitionState, type PartitionSizes } from './kafka-partition-state.ts';
import { reservedKey, SEP, type StoredRecord, type TotalsRecord } from './kafka-state-records.ts';
import { putEntry, RESERVED_KEY_PREFIX } from './session-state-store.ts';

export { positionKey, SEP } from './kafka-state-records.ts';

export interface KafkaStateViewOptions {
  readonly kafka: Kafka;
  readonly topics: TopicNames;
  readonly logger: Logger;
  readonly groupPrefix?: string;
  /**
   * `all` (default): every partition, as a reader of the whole deployment needs. `assigned`: only
   * the partitions given to `assign` (a pipeline process's own); the others are paused and nothing
   * of them is kept.
   */
  readonly scope?: 'all' | 'assigned';
  /** Keep only this session's records (and no checkpoints): a one-session reader. */
  readonly session?: string;
  /**
   * Keep everything in memory, turn records included (default true: `sessionTurns` answers). False
   * (a pipeline's view): the held partitions' session state and totals in a `SessionIndex`, and of
   * their turns only each one's revision and `closedAtPos` in a `TurnIndex`, both on disk, so the
   * process's memory does not grow with history; turn records are read from their partition when
   * asked for (`KafkaStateQueries`).
   */
  readonly keepTurnRecords?: boolean;
}

/**
 * A view of the compacted `state` and `turns` topics (in memory, or for a pipeline in local on-disk
 * indexes: `keepTurnRecords`), materialised by a consumer that reads them from the beginning
 * (read_committed: aborted transactions are never seen), held per
 * partition. Every apply is idempotent and order-safe, so our own writes can be applied at once and
 * again when the consumer delivers them.
 *
 * Scope `assigned` (a pipeline): a partition is held from `assign` on — its records re-read from the
 * start of both topics — and dropped when it is no longer assigned. kafkajs has no manual
 * assignment: the view's consumer (alone in its group) is assigned every partition and pauses those
 * it does not hold. A re-read is a seek on that consumer; batches of the partition fetched before
 * the seek took effect may still be delivered after it. Their records are applied (they are
 * records of the partition all the same), but the partition counts as read up to an offset only
 * once every fetcher has started a fetch after the seek (kafkajs applies seeks at the start of a
 * fetch, and a fetcher hands all of one fetch's batches over before it starts the next).
 */
export class KafkaStateView {
  /** Per held partition: the log position committed with its state. */
  readonly positions = new Map<number, number>();
  /** Partitions of the state and turns topics (the events topic's count). */
  readonly partitions: number;
  private readonly parts = new Map<number, KafkaPartitionState>();
  private readonly consumed = new Map<string, number>();
  /**
   * Partitions being re-read, with the fetchers (broker node ids) yet to start a fetch after the
   * seek; null while the seek is not issued yet. Their consumed offsets are not counted meanwhile.
   */
  private readonly unarmed = new Map<number, Set<number> | null>();
  private readonly fetchers = new Set<number>();
  /** Scope `assigned`: the partitions held; undefined = all. */
  private readonly held: Set<number> | undefined;
  private readonly only: string | undefined;
  /** Where the turns of held partitions are kept when the view keeps no turn records. */
  private readonly turnIndex: TurnIndex | undefined;
  /** …and their sessions' state and totals (off the heap too). */
  private readonly sessionIndex: SessionIndex | undefined;
  private readonly topics: TopicNames;
  private readonly consumer: Consumer;
  private readonly admin: Admin;
  private readonly logger: Logger;

  private constructor(o: KafkaStateViewOptions, admin: Admin, partitions: number) {
    this.topics = o.topics;
    this.admin = admin;
    this.partitions = partitions;
    this.logger = o.logger.child('kafka');
    this.held = o.scope === 'assigned' ? new Set() : undefined;
    this.only = o.session;
    this.turnIndex = o.keepTurnRecords === false ? new TurnIndex() : undefined;
    this.sessionIndex = o.keepTurnRecords === false ? new SessionIndex() : undefined;
    // A short broker wait: a seek (scope `assigned`) takes effect at the next fetch, and `close`
    // waits for the fetch in flight, so a long poll on quiet partitions (5 s by default) would delay
    // a newly held partition's re-read, and every close, by that much.
    this.consumer = o.kafka.consumer({
      groupId: `${o.groupPrefix ?? 'turnstream'}-view-${randomUUID()}`,
      readUncommitted: false,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 250,
      // A re-read is bulk (checkpoint chunks of up to 768 KiB among small records): fewer, larger fetches.
      maxBytesPerPartition: 4 * 1024 * 1024,
      maxBytes: 32 * 1024 * 1024,
    });
  }

  /** Starts the view and resolves once it has read what it holds up to the current end (scope `assigned`: nothing yet). */
  static async open(o: KafkaStateViewOptions): Promise<KafkaStateView> {
    const admin = o.kafka.admin();
    await admin.connect();
    const view = new KafkaStateView(o, admin, await partitionCount(admin, o.topics.state));
    const { consumer, topics } = view;
    await consumer.connect();
    await consumer.subscribe({ topics: [topics.state, topics.turns], fromBeginning: true });
    consumer.on(consumer.events.FETCH_START, ({ payload }) => view.fetchStarted(payload.nodeId));
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => view.batchEnded(payload.topic, payload.partition, Number(payload.lastOffset)));
    await consumer.run({ autoCommit: false, eachBatch: async ({ batch }) => view.applyBatch(batch) });
    if (view.held !== undefined) await whenRunning(() => consumer.pause(view.topicPartitions(view.allPartitions())));
    view.logger.debug('state view started', { topics: [topics.state, topics.turns], scope: o.scope ?? 'all' });
    await view.catchUp();
    return view;
  }

  private allPartitions(): number[] {
    return Array.from({ length: this.partitions }, (_, p) => p);
  }

  private topicPartitions(partitions: number[]): { topic: string; partitions: number[] }[] {
    return [this.topics.state, this.topics.turns].map((topic) => ({ topic, partitions }));
  }

  /** The partition a session's records live on. */
  partitionOf(session: string): number {
    return partitionFor(session, this.partitions);
  }

  /** Whether this view holds the partition's records (scope `all`: every partition). */
  holds(partition: number): boolean {
    return this.held === undefined || this.held.has(partition);
  }

  /** The partitions whose records this view holds now, sorted (scope `all`: those it has records of). */
  heldPartitions(): number[] {
    return [...(this.held ?? this.parts.keys())].sort((a, b) => a - b);
  }

  /** Per held partition, how much of it is in memory. */
  sizes(): Map<number, PartitionSizes> {
    return new Map(this.heldPartitions().map((p) => [p, this.parts.get(p)?.sizes() ?? { sessions: 0, keys: 0, turns: 0, checkpointBytes: 0 }]));
  }

  /**
   * Scope `assigned`: holds exactly `partitions` from now on. Newly held ones are re-read from the
   * start of both topics (wait with `catchUp`); the others are dropped and paused.
   */
  async assign(partitions: readonly number[]): Promise<void> {
    if (this.held === undefined) return;
    const wanted = new Set(partitions);
    const released = [...this.held].filter((p) => !wanted.has(p));
    const added = [...wanted].filter((p) => !this.held!.has(p));
    for (const p of released) {
      this.held.delete(p);
      this.forget(p);
    }
    for (const p of added) {
      this.held.add(p);
      this.forget(p);
      this.parts.set(p, new KafkaPartitionState(this.turnIndex, p, this.sessionIndex));
      this.unarmed.set(p, null);
    }
    if (released.length > 0) await whenRunning(() => this.consumer.pause(this.topicPartitions(released)));
    if (added.length === 0) return;
    const starts = await this.logStarts(added);
    const still = added.filter((p) => this.held!.has(p)); // released again meanwhile (a later call): stays paused
    await whenRunning(() => {
      for (const p of still) {
        if (this.fetchers.size > 0) this.unarmed.set(p, new Set(this.fetchers));
        else this.unarmed.delete(p); // nothing fetched yet: nothing fetched before the seek either
        for (const topic of [this.topics.state, this.topics.turns])
          this.consumer.seek({ topic, partition: p, offset: String(starts.get(`${topic}:${p}`) ?? 0) });
      }
      this.consumer.resume(this.topicPartitions(still));
    });
    this.logger.debug('state view holds partitions', { held: this.heldPartitions(), added, released });
  }

  private forget(p: number): void {
    this.parts.delete(p);
    this.turnIndex?.drop(p);
    this.sessionIndex?.drop(p);
    this.positions.delete(p);
    this.unarmed.delete(p);
    for (const topic of [this.topics.state, this.topics.turns]) this.consumed.delete(`${topic}:${p}`);
  }

  /** First offsets (log start) of the partitions in both topics: a seek below it would be out of range. */
  private async logStarts(partitions: readonly number[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const topic of [this.topics.state, this.topics.turns])
      for (const o of await this.admin.fetchTopicOffsets(topic)) if (partitions.includes(o.partition)) out.set(`${topic}:${o.partition}`, Number(o.low));
    return out;
  }

  private fetchStarted(nodeId: number): void {
    this.fetchers.add(nodeId);
    for (const [p, waiting] of this.unarmed) {
      if (waiting === null) continue;
      waiting.delete(nodeId);
      if (waiting.size === 0) this.unarmed.delete(p);
    }
  }

  private batchEnded(topic: string, partition: number, lastOffset: number): void {
    if (this.holds(partition) && !this.unarmed.has(partition)) this.consumed.set(`${topic}:${partition}`, lastOffset + 1);
  }

  /**
   * Resolves when the view has consumed both topics up to the end offsets they have now, for the
   * given partitions (default: all it holds). Call after fencing a partition's previous owner.
   */
  async catchUp({ partitions, timeoutMs = 60_000 }: { partitions?: readonly number[]; timeoutMs?: number } = {}): Promise<void> {
    const notHeld = (partitions ?? []).filter((p) => !this.holds(p));
    if (notHeld.length > 0) throw new Error(`the state view does not hold partition(s) ${notHeld.join(', ')}: assign them first`);
    const wanted = partitions ?? (this.held === undefined ? undefined : [...this.held]);
    const targets: [string, number, number, number][] = [];
    for (const topic of [this.topics.state, this.topics.turns]) {
      for (const o of await this.admin.fetchTopicOffsets(topic)) {
        if (wanted === undefined || wanted.includes(o.partition)) targets.push([topic, o.partition, Number(o.high), Number(o.low)]);
      }
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const behind = targets.filter(([t, p, high, low]) => high > low && (this.unarmed.has(p) || (this.consumed.get(`${t}:${p}`) ?? 0) < high));
      if (behind.length === 0) return;
      if (Date.now() > deadline)
        throw new Error(`state view did not catch up within ${timeoutMs} ms (behind on ${behind.map(([t, p]) => `${t}[${p}]`).join(', ')})`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private part(partition: number): KafkaPartitionState | undefined {
    if (!this.holds(partition)) return undefined;
    let part = this.parts.get(partition);
    if (part === undefined) {
      part = new KafkaPartitionState(this.turnIndex, partition, this.sessionIndex);
      this.parts.set(partition, part);
    }
    return part;
  }

  private applyBatch(batch: Batch): void {
    const part = this.part(batch.partition);
    if (part === undefined) return; // fetched before the partition was paused (or after it was released)
    let failed = 0;
    const apply = (): void => {
      for (const m of batch.messages) {
        try {
          const record: StoredRecord = { key: m.key?.toString() ?? '', value: m.value, headers: m.headers ?? {} };
          if (batch.topic === this.topics.state) this.applyStateRecord(batch.partition, part, record);
          else part.applyTurnRecord(record, this.only);
        } catch {
          failed++; // a record turnstream did not write (or damaged): it must not stop the view
        }
      }
    };
    const index = batch.topic === this.topics.turns ? this.turnIndex : this.sessionIndex;
    if (index !== undefined) index.batch(apply);
    else apply();
    if (failed > 0) this.logger.warn('skipped unreadable records', { topic: batch.topic, partition: batch.partition, count: failed });
  }

  private applyStateRecord(partition: number, part: KafkaPartitionState, m: StoredRecord): void {
    if (!m.key.startsWith(SEP)) {
      part.applyStateRecord(m, this.only);
      return;
    }
    const k = reservedKey(m.key);
    if (k === undefined || k.partition !== partition) return;
    if (k.kind === 'position') {
      if (m.value !== null) this.applyPosition(partition, (JSON.parse(m.value.toString()) as { position: number }).position);
    } else if (this.only === undefined) {
      if (k.kind === 'checkpoint') part.checkpoint.applyHeader(m);
      else part.checkpoint.applyChunk(k.index, m);
    }
  }

  // Applies of a commit by this process (the store), before the consumer delivers them. Records of
  // a partition the view does not hold are not kept.

  applyEntry(session: string, key: string, entry: StateEntry): void {
    this.part(this.partitionOf(session))?.applyEntry(session, key, entry);
  }

  applyTotals(session: string, rec: TotalsRecord): void {
    this.part(this.partitionOf(session))?.applyTotals(session, rec);
  }

  /** Runs a commit's applies in one transaction of each local index (when the view keeps them there). */
  batch(fn: () => void): void {
    const inTurns = (): void => (this.turnIndex === undefined ? fn() : this.turnIndex.batch(fn));
    if (this.sessionIndex === undefined) inTurns();
    else this.sessionIndex.batch(inTurns);
  }

  /** A commit's turns (in one index transaction when the view keeps no records). */
  applyTurns(turns: readonly TurnRecord[]): void {
    const apply = (): void => {
      for (const t of turns) this.part(this.partitionOf(t.session))?.applyTurn(t);
    };
    if (this.turnIndex !== undefined && turns.length > 0) this.turnIndex.batch(apply);
    else apply();
  }

  applyPosition(partition: number, position: number): void {
    if (this.holds(partition) && position > (this.positions.get(partition) ?? 0)) this.positions.set(partition, position);
  }

  /** Checkpoint records as committed (header, chunks, tombstones), in the order they were sent. */
  applyCheckpointRecords(partition: number, records: readonly StoredRecord[]): void {
    const part = this.part(partition);
    for (const r of records) if (part !== undefined) this.applyStateRecord(partition, part, r);
  }

  // Reads, shared by every store on this view and by the read-only commands. A session of a
  // partition the view does not hold reads as unknown: see `KafkaStateQueries` for those.

  private sessionPart(session: string): KafkaPartitionState | undefined {
    return this.parts.get(this.partitionOf(session));
  }

  entry(session: string, key: string): StateEntry | undefined {
    return this.sessionPart(session)?.entry(session, key);
  }

  totalsOf(session: string): SessionTotals | undefined {
    return this.sessionPart(session)?.totalsOf(session)?.totals;
  }

  /** `closedAtPos` of the held (latest) revision of a turn; 0 for a record from before it was stored. */
  closedTurnAt(session: string, turn: string): number | undefined {
    return this.sessionPart(session)?.closedTurnAt(session, turn);
  }

  /** Whether `sessionTurns` answers for the session (its partition held, and the view keeps turn records). */
  keepsTurnsOf(session: string): boolean {
    return this.turnIndex === undefined && this.holds(this.partitionOf(session));
  }

  /** The partition's latest checkpoint (undefined: none written), or why it cannot be used. */
  async checkpoint(partition: number): Promise<ReadCheckpoint | undefined> {
    return this.parts.get(partition)?.checkpoint.read();
  }

  /** Chunk keys of the partition's checkpoint that hold a record. */
  checkpointSlots(partition: number): number {
    return this.parts.get(partition)?.checkpoint.slots() ?? 0;
  }

  async get(session: string, key: string): Promise<StateEntry | undefined> {
    return this.entry(session, key);
  }

  /** The live (non-deleted, non-reserved) keys of a session, sorted. */
  async list(session: string): Promise<Record<string, JsonValue>> {
    const out: Record<string, JsonValue> = {};
    const keys = (this.sessionPart(session)?.entries(session) ?? []).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [k, e] of keys) if (!e.deleted && !k.startsWith(RESERVED_KEY_PREFIX)) putEntry(out, k, e.value as JsonValue);
    return out;
  }

  async sessionTotals(session: string): Promise<SessionTotals | undefined> {
    return this.totalsOf(session);
  }

  /** Sessions of the held partitions, latest activity first. */
  async sessions(options: { limit?: number } = {}): Promise<{ session: string; totals: SessionTotals }[]> {
    return [...this.parts.values()]
      .flatMap((part) => part.recent(options.limit ?? 1000))
      .sort((a, b) => b.totals.lastMs - a.totals.lastMs || (a.session < b.session ? -1 : 1))
      .slice(0, options.limit ?? 1000);
  }

  async sessionTurns(session: string): Promise<TurnRecord[]> {
    const turns = this.sessionPart(session)?.turnRecords(session) ?? [];
    return turns.sort((a, b) => a.startMs - b.startMs || (a.turn < b.turn ? -1 : 1));
  }

  async close(): Promise<void> {
    await this.consumer.disconnect();
    await this.admin.disconnect();
    this.turnIndex?.close();
    this.sessionIndex?.close();
  }
}
