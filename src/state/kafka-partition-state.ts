import type { JsonValue } from '../model/json-value.ts';
import { winsOver, type StateEntry, type StateVersion } from '../model/state-write.ts';
import { fromStoredTurn, replacesRevision, type TurnRecord } from '../model/turn-record.ts';
import { CheckpointRecords } from './kafka-checkpoint-records.ts';
import { header, SEP, type StoredRecord, type TotalsRecord } from './kafka-state-records.ts';
import { TOTALS_KEY } from './session-state-store.ts';
import type { SessionIndex } from './session-index.ts';
import type { TurnIndex } from './turn-index.ts';
import type { SessionTotals } from '../model/session-totals.ts';

/** A turn's latest revision as a view holds it: its record, or the record's JSON text until it is read. */
export interface HeldTurnRecord {
  readonly revision: number;
  /** `closedAtPos` of this revision (0 for a record from before it was stored). */
  readonly closedAtPos: number;
  record: TurnRecord | undefined;
  text: string | undefined;
}

/** How much a view holds of one partition (for tests and logs). */
export interface PartitionSizes {
  readonly sessions: number;
  readonly keys: number;
  readonly turns: number;
  readonly checkpointBytes: number;
}

/**
 * What a `KafkaStateView` holds of ONE partition of the state and turns topics: the sessions that
 * hash to it (LWW entries, totals, latest turn revisions) and its checkpoint records. Every apply
 * is idempotent and order-safe (LWW versions, totals positions, turn revisions), so a record
 * applied twice, or an older one after a newer, changes nothing.
 *
 * Turns: with an `index` (a pipeline's view) only each turn's revision and `closedAtPos` are kept,
 * there, off the heap, and no record can be read back; without (a reader), the records are held.
 * Session state and totals: in `sessions` when given (a pipeline's view), else in the maps.
 */
export class KafkaPartitionState {
  readonly state = new Map<string, Map<string, StateEntry>>();
  readonly totals = new Map<string, TotalsRecord>();
  /** Per session, per turn: the latest revision held; the record's JSON is parsed when the turn is read. Empty with an index. */
  readonly turns = new Map<string, Map<string, HeldTurnRecord>>();
  readonly checkpoint = new CheckpointRecords();
  private readonly index: TurnIndex | undefined;
  private readonly sessionIndex: SessionIndex | undefined;
  private readonly partition: number;

  constructor(index?: TurnIndex, partition = 0, sessions?: SessionIndex) {
    this.index = index;
    this.partition = partition;
    this.sessionIndex = sessions;
  }

  entry(session: string, key: string): StateEntry | undefined {
    return this.sessionIndex !== undefined ? this.sessionIndex.entry(session, key) : this.state.get(session)?.get(key);
  }

  /** A session's keys with their entries (tombstones included), in no particular order. */
  entries(session: string): [string, StateEntry][] {
    return this.sessionIndex !== undefined ? this.sessionIndex.entries(session) : [...(this.state.get(session) ?? new Map<string, StateEntry>())];
  }

  totalsOf(session: string): TotalsRecord | undefined {
    return this.sessionIndex !== undefined ? this.sessionIndex.totals(session) : this.totals.get(session);
  }

  /** Up to `limit` sessions with the latest activity first (ties in no set order). */
  recent(limit: number): { session: string; totals: SessionTotals }[] {
    if (this.sessionIndex !== undefined) return this.sessionIndex.recent(this.partition, limit);
    return [...this.totals.entries()]
      .map(([session, r]) => ({ session, totals: r.totals }))
      .sort((a, b) => b.totals.lastMs - a.totals.lastMs)
      .slice(0, limit);
  }

  /** Whether the turn records themselves are held (`turnRecords`); not with an index. */
  get keepsTurnRecords(): boolean {
    return this.index === undefined;
  }

  /** A session record of the state topic (`<session>\0<key>`); `only` keeps one session's records. */
  applyStateRecord(m: StoredRecord, only?: string): void {
    const sep = m.key.indexOf(SEP);
    const session = m.key.slice(0, sep);
    if (only !== undefined && session !== only) return;
    const name = m.key.slice(sep + 1);
    if (name === TOTALS_KEY) {
      if (m.value !== null) this.applyTotals(session, JSON.parse(m.value.toString()) as TotalsRecord);
      return;
    }
    if (m.value === null) {
      const version: StateVersion = { time: Number(header(m.headers, 't')), seq: Number(header(m.headers, 's')), id: header(m.headers, 'i') ?? '' };
      this.applyEntry(session, name, { value: undefined, deleted: true, version });
      return;
    }
    const rec = JSON.parse(m.value.toString()) as { value: JsonValue; t: number; s: number; i: string };
    this.applyEntry(session, name, { value: rec.value, deleted: false, version: { time: rec.t, seq: rec.s, id: rec.i } });
  }

  /**
   * A record of the turns topic; `only` keeps one session's turns. With the revision headers
   * (`turnHeaders`) the JSON is kept as text, unparsed: a new owner re-reads every turn record of
   * the partition, and most are never read again.
   */
  applyTurnRecord(m: StoredRecord, only?: string): void {
    if (m.value === null) return;
    const r = header(m.headers, 'r');
    const c = header(m.headers, 'c');
    if (r !== undefined && c !== undefined) {
      const sep = m.key.indexOf(SEP);
      const session = m.key.slice(0, sep);
      if (only !== undefined && session !== only) return;
      if (this.index !== undefined) this.index.put(this.partition, session, m.key.slice(sep + 1), Number(r), Number(c));
      else this.hold(session, m.key.slice(sep + 1), { revision: Number(r), closedAtPos: Number(c), record: undefined, text: m.value.toString() });
      return;
    }
    const t = fromStoredTurn(JSON.parse(m.value.toString()));
    if (only === undefined || t.session === only) this.applyTurn(t);
  }

  /** The held turn records of a session (parsed now if they were held as text). Throws with an index: none are held. */
  turnRecords(session: string): TurnRecord[] {
    if (this.index !== undefined) throw new Error('this view keeps no turn records (a pipeline view): read them with KafkaStateQueries');
    const out: TurnRecord[] = [];
    for (const h of this.turns.get(session)?.values() ?? []) {
      h.record ??= fromStoredTurn(JSON.parse(h.text!));
      h.text = undefined;
      out.push(h.record);
    }
    return out;
  }

  /** Applies an entry if it is newer than the one held (LWW). Returns whether it was applied. */
  applyEntry(session: string, key: string, entry: StateEntry): boolean {
    if (this.sessionIndex !== undefined) return this.sessionIndex.putEntry(this.partition, session, key, entry);
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
    if (this.sessionIndex !== undefined) this.sessionIndex.putTotals(this.partition, session, rec);
    else if (rec.p > (this.totals.get(session)?.p ?? -1)) this.totals.set(session, rec);
  }

  applyTurn(t: TurnRecord): void {
    if (this.index !== undefined) this.index.put(this.partition, t.session, t.turn, t.revision, t.closedAtPos ?? 0);
    else this.hold(t.session, t.turn, { revision: t.revision, closedAtPos: t.closedAtPos ?? 0, record: t, text: undefined });
  }

  /** `closedAtPos` of the held (latest) revision of a turn; 0 for a record from before it was stored. */
  closedTurnAt(session: string, turn: string): number | undefined {
    return this.index !== undefined ? this.index.closedAt(session, turn) : this.turns.get(session)?.get(turn)?.closedAtPos;
  }

  private hold(session: string, turn: string, h: HeldTurnRecord): void {
    let turns = this.turns.get(session);
    if (turns === undefined) {
      turns = new Map();
      this.turns.set(session, turns);
    }
    if (replacesRevision(h, turns.get(turn))) turns.set(turn, h);
  }

  sizes(): PartitionSizes {
    const held = this.sessionIndex?.counts(this.partition) ?? { sessions: 0, keys: 0 };
    const sessions = new Set([...this.state.keys(), ...this.totals.keys(), ...this.turns.keys()]);
    let keys = held.keys;
    for (const k of this.state.values()) keys += k.size;
    let turns = this.index?.count(this.partition) ?? 0;
    for (const t of this.turns.values()) turns += t.size;
    return { sessions: sessions.size + held.sessions, keys, turns, checkpointBytes: this.checkpoint.bytes() };
  }
}
