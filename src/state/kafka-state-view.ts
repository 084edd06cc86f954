import { randomUUID } from 'node:crypto';
import type { Admin, Consumer, IHeaders, Kafka, KafkaMessage } from 'kafkajs';
import type { JsonValue } from '../model/json-value.ts';
import type { TopicNames } from '../kafka/topics.ts';
import type { Logger } from '../logger.ts';
import type { SessionTotals } from '../model/session-totals.ts';
import { fromStoredTurn, replacesRevision, type TurnRecord } from '../model/turn-record.ts';
import { putEntry, RESERVED_KEY_PREFIX, TOTALS_KEY } from './session-state-store.ts';
import { winsOver, type StateEntry, type StateVersion } from '../model/state-write.ts';

/** Record keys: `<session>\0<key>` in the state topic, `<session>\0<turn>` in the turns topic. */
export const SEP = '\u0000';
export const positionKey = (partition: number): string => `${SEP}position${SEP}${partition}`;

interface TotalsRecord {
  readonly totals: SessionTotals;
  /** Log position of the commit that wrote it: a replayed older record never replaces a newer one. */
  readonly p: number;
}

const header = (h: IHeaders | undefined, name: string): string | undefined => {
  const v = h?.[name];
  return v === undefined ? undefined : Buffer.isBuffer(v) ? v.toString() : String(v);
};

/**
 * An in-memory view of the compacted `state` and `turns` topics, materialised by a consumer that
 * reads them from the beginning (read_committed: aborted transactions are never seen). Every
 * apply is idempotent and order-safe (LWW versions, totals positions, turn revisions), so our own
 * writes can be applied at once and again when the consumer delivers them.
 */
export class KafkaStateView {
  readonly state = new Map<string, Map<string, StateEntry>>();
  readonly totals = new Map<string, TotalsRecord>();
  readonly turns = new Map<string, Map<string, TurnRecord>>();
  readonly positions = new Map<number, number>();
  private readonly consumed = new Map<string, number>();
  private readonly topics: TopicNames;
  private readonly consumer: Consumer;
  private readonly admin: Admin;

  private constructor(kafka: Kafka, topics: TopicNames, groupPrefix: string) {
    this.topics = topics;
    this.consumer = kafka.consumer({ groupId: `${groupPrefix}-view-${randomUUID()}`, readUncommitted: false, allowAutoTopicCreation: false });
    this.admin = kafka.admin();
  }

  /** Starts the view and resolves once it has read both topics up to their current end. */
  static async open({
    kafka,
    topics,
    logger,
    groupPrefix = 'turnstream',
  }: {
    kafka: Kafka;
    topics: TopicNames;
    logger: Logger;
    groupPrefix?: string;
  }): Promise<KafkaStateView> {
    const view = new KafkaStateView(kafka, topics, groupPrefix);
    await view.admin.connect();
    await view.consumer.connect();
    await view.consumer.subscribe({ topics: [topics.state, topics.turns], fromBeginning: true });
    view.consumer.on(view.consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      view.consumed.set(`${payload.topic}:${payload.partition}`, Number(payload.lastOffset) + 1);
    });
    await view.consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          if (batch.topic === topics.state) view.applyStateRecord(m);
          else view.applyTurnRecord(m);
        }
      },
    });
    logger.child('kafka').debug('state view started', { topics: [topics.state, topics.turns] });
    await view.catchUp();
    return view;
  }

  /**
   * Resolves when the view has consumed both topics up to the end offsets they have now (for the
   * given partitions, or all). Call after fencing a partition's previous owner.
   */
  async catchUp({ partitions, timeoutMs = 60_000 }: { partitions?: readonly number[]; timeoutMs?: number } = {}): Promise<void> {
    const targets: [string, number, number, number][] = [];
    for (const topic of [this.topics.state, this.topics.turns]) {
      for (const o of await this.admin.fetchTopicOffsets(topic)) {
        if (partitions === undefined || partitions.includes(o.partition)) targets.push([topic, o.partition, Number(o.high), Number(o.low)]);
      }
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const behind = targets.filter(([t, p, high, low]) => high > low && (this.consumed.get(`${t}:${p}`) ?? 0) < high);
      if (behind.length === 0) return;
      if (Date.now() > deadline)
        throw new Error(`state view did not catch up within ${timeoutMs} ms (behind on ${behind.map(([t, p]) => `${t}[${p}]`).join(', ')})`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  applyStateRecord(m: Pick<KafkaMessage, 'key' | 'value' | 'headers'>): void {
    const key = m.key?.toString() ?? '';
    const sep = key.indexOf(SEP);
    if (sep === 0) {
      const partition = Number(key.slice(key.lastIndexOf(SEP) + 1));
      const value = m.value === null ? 0 : (JSON.parse(m.value.toString()) as { position: number }).position;
      if (value > (this.positions.get(partition) ?? 0)) this.positions.set(partition, value);
      return;
    }
    const session = key.slice(0, sep);
    const name = key.slice(sep + 1);
    if (name === TOTALS_KEY) {
      if (m.value === null) return;
      const rec = JSON.parse(m.value.toString()) as TotalsRecord;
      if (rec.p > (this.totals.get(session)?.p ?? -1)) this.totals.set(session, rec);
      return;
    }
    let version: StateVersion;
    let entry: StateEntry;
    if (m.value === null) {
      version = { time: Number(header(m.headers, 't')), seq: Number(header(m.headers, 's')), id: header(m.headers, 'i') ?? '' };
      entry = { value: undefined, deleted: true, version };
    } else {
      const rec = JSON.parse(m.value.toString()) as { value: JsonValue; t: number; s: number; i: string };
      version = { time: rec.t, seq: rec.s, id: rec.i };
      entry = { value: rec.value, deleted: false, version };
    }
    this.applyEntry(session, name, entry);
  }

  /** Applies an entry if it is newer than the one held (LWW). Returns whether it was applied. */
  applyEntry(session: string, key: string, entry: StateEntry): boolean {
    let keys = this.state.get(session);
    const existing = keys?.get(key);
    if (existing !== undefined && !winsOver(entry.version, existing.version)) return false;
    if (keys === undefined) {
      keys = new Map();
      this.state.set(session, keys);
    }
    keys.set(key, entry);
    return true;
  }

  applyTotals(session: string, rec: TotalsRecord): void {
    if (rec.p > (this.totals.get(session)?.p ?? -1)) this.totals.set(session, rec);
  }

  applyTurnRecord(m: Pick<KafkaMessage, 'value'>): void {
    if (m.value === null) return;
    this.applyTurn(fromStoredTurn(JSON.parse(m.value.toString())));
  }

  applyTurn(t: TurnRecord): void {
    let turns = this.turns.get(t.session);
    if (turns === undefined) {
      turns = new Map();
      this.turns.set(t.session, turns);
    }
    if (replacesRevision(t, turns.get(t.turn))) turns.set(t.turn, t);
  }

  applyPosition(partition: number, position: number): void {
    if (position > (this.positions.get(partition) ?? 0)) this.positions.set(partition, position);
  }

  // Reads, shared by every store on this view and by the read-only CLI commands.

  async get(session: string, key: string): Promise<StateEntry | undefined> {
    return this.state.get(session)?.get(key);
  }

  /** The live (non-deleted, non-reserved) keys of a session, sorted. */
  async list(session: string): Promise<Record<string, JsonValue>> {
    const out: Record<string, JsonValue> = {};
    const keys = [...(this.state.get(session) ?? new Map<string, StateEntry>()).entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [k, e] of keys) if (!e.deleted && !k.startsWith(RESERVED_KEY_PREFIX)) putEntry(out, k, e.value as JsonValue);
    return out;
  }

  async sessionTotals(session: string): Promise<SessionTotals | undefined> {
    return this.totals.get(session)?.totals;
  }

  async sessions(options: { limit?: number } = {}): Promise<{ session: string; totals: SessionTotals }[]> {
    return [...this.totals.entries()]
      .map(([session, r]) => ({ session, totals: r.totals }))
      .sort((a, b) => b.totals.lastMs - a.totals.lastMs || (a.session < b.session ? -1 : 1))
      .slice(0, options.limit ?? 1000);
  }

  async sessionTurns(session: string): Promise<TurnRecord[]> {
    return [...(this.turns.get(session)?.values() ?? [])].sort((a, b) => a.startMs - b.startMs || (a.turn < b.turn ? -1 : 1));
  }

  async close(): Promise<void> {
    await this.consumer.disconnect();
    await this.admin.disconnect();
  }
}
