import type { JsonValue } from '../model/json-value.ts';
import { applyDeltas, type SessionTotals } from '../model/session-totals.ts';
import { replacesRevision, turnRecord, type TurnRecord } from '../model/turn-record.ts';
import { winsOver, type StateEntry, type StateVersion, type StateWrite } from '../model/state-write.ts';
import { putEntry, RESERVED_KEY_PREFIX, type Checkpoint, type SessionStateStore, type SessionSummary, type StateCommit } from './session-state-store.ts';

/** One key as held: the value as JSON text (`undefined` for a tombstone), and its version. */
interface HeldEntry {
  readonly json: string | undefined;
  readonly version: StateVersion;
}

/** One turn as held: the record as JSON text, with what the ordering and the upsert rule need. */
interface HeldTurn {
  readonly revision: number;
  readonly startMs: number;
  readonly closedAtPos: number;
  readonly json: string;
}

/**
 * What a `MemorySessionStateStore` holds. Separate from the store so that a "reopen" (the contract
 * suite, a second reader) can see the same storage through a new store object.
 */
export interface MemoryStateData {
  readonly state: Map<string, Map<string, HeldEntry>>;
  readonly totals: Map<string, SessionTotals>;
  readonly turns: Map<string, Map<string, HeldTurn>>;
  position: number;
  checkpoint?: Checkpoint;
}

export function emptyMemoryStateData(): MemoryStateData {
  return { state: new Map(), totals: new Map(), turns: new Map(), position: 0 };
}

/** SQLite orders TEXT by its UTF-8 bytes; so does this (UTF-16 `<` differs above U+FFFF). */
const byBytes = (a: string, b: string): number => (a === b ? 0 : Buffer.compare(Buffer.from(a), Buffer.from(b)));

/**
 * `SessionStateStore` in memory: the store replay runs the live `Processor` over, so a replay never
 * touches (or locks) the live store. It keeps the port's contract exactly like the SQLite adapter:
 * the same model rules (`src/model/`) decide last-write-wins, deltas and revisions; values and turn records are held as JSON text,
 * so what comes back is what SQLite would give back (a value JSON cannot hold fails the commit,
 * and callers can mutate neither what they passed in nor what they read); `commit` validates
 * everything before it changes anything (all-or-nothing), ignores a batch whose position is not
 * beyond `position()`, and keeps the latest revision per turn. Nothing is durable: the data lives
 * as long as the `MemoryStateData` it was given (a fresh one by default).
 */
export class MemorySessionStateStore implements SessionStateStore {
  readonly data: MemoryStateData;

  constructor(data: MemoryStateData = emptyMemoryStateData()) {
    this.data = data;
  }

  private entry(session: string, key: string): HeldEntry | undefined {
    return this.data.state.get(session)?.get(key);
  }

  /** Applies a write already serialised; returns nothing, keeps the stored entry on an older or equal version. */
  private apply(session: string, key: string, json: string | undefined, version: StateVersion): void {
    let keys = this.data.state.get(session);
    const existing = keys?.get(key);
    if (existing !== undefined && !winsOver(version, existing.version)) return;
    if (keys === undefined) {
      keys = new Map();
      this.data.state.set(session, keys);
    }
    keys.set(key, { json, version: { time: version.time, seq: version.seq, id: version.id } });
  }

  async commit(batch: StateCommit): Promise<void> {
    if (batch.position < this.data.position) return; // applied already (exactly-once)
    if (batch.position === this.data.position) {
      // A checkpoint alone may be saved at the committed position (a clean shutdown's).
      if (batch.checkpoint !== undefined && batch.writes.length + batch.deltas.length + batch.turns.length === 0)
        this.data.checkpoint = { ...batch.checkpoint };
      return;
    }
    // Serialise first: a value or turn JSON cannot hold throws here, before anything changed.
    const writes = batch.writes.map((w: StateWrite) => ({ w, json: w.deleted ? undefined : serialise(w.value) }));
    const turns = batch.turns.map((t) => ({ t, json: serialise(turnRecord(t)) }));
    for (const { w, json } of writes) this.apply(w.session, w.key, json, w.version);
    for (const [session, totals] of applyDeltas(batch.deltas, (id) => this.data.totals.get(id))) this.data.totals.set(session, totals);
    for (const { t, json } of turns) {
      let held = this.data.turns.get(t.session);
      if (held === undefined) {
        held = new Map();
        this.data.turns.set(t.session, held);
      }
      if (replacesRevision(t, held.get(t.turn))) held.set(t.turn, { revision: t.revision, startMs: t.startMs, closedAtPos: t.closedAtPos, json });
    }
    if (batch.checkpoint !== undefined) this.data.checkpoint = { ...batch.checkpoint };
    this.data.position = batch.position;
  }

  async checkpoint(): Promise<Checkpoint | undefined> {
    return this.data.checkpoint === undefined ? undefined : { ...this.data.checkpoint };
  }

  closedTurnAt(session: string, turn: string): number | undefined {
    return this.data.turns.get(session)?.get(turn)?.closedAtPos;
  }

  async get(session: string, key: string): Promise<StateEntry | undefined> {
    const e = this.entry(session, key);
    if (e === undefined) return undefined;
    return { value: e.json === undefined ? undefined : (JSON.parse(e.json) as JsonValue), deleted: e.json === undefined, version: { ...e.version } };
  }

  async list(session: string): Promise<Record<string, JsonValue>> {
    const keys = [...(this.data.state.get(session) ?? [])].filter(([k, e]) => e.json !== undefined && !k.startsWith(RESERVED_KEY_PREFIX));
    keys.sort(([a], [b]) => byBytes(a, b));
    const out: Record<string, JsonValue> = {};
    for (const [k, e] of keys) putEntry(out, k, JSON.parse(e.json!) as JsonValue);
    return out;
  }

  /** Every key of a session with its entry, tombstones and reserved keys included, by key. */
  entries(session: string): [string, StateEntry][] {
    const keys = [...(this.data.state.get(session) ?? [])].sort(([a], [b]) => byBytes(a, b));
    return keys.map(([k, e]) => [
      k,
      { value: e.json === undefined ? undefined : (JSON.parse(e.json) as JsonValue), deleted: e.json === undefined, version: { ...e.version } },
    ]);
  }

  async set(session: string, key: string, value: JsonValue, version: StateVersion): Promise<void> {
    this.apply(session, key, serialise(value), version);
  }

  async delete(session: string, key: string, version: StateVersion): Promise<void> {
    this.apply(session, key, undefined, version);
  }

  async position(): Promise<number> {
    return this.data.position;
  }

  async totals(session: string): Promise<SessionTotals | undefined> {
    const t = this.data.totals.get(session);
    return t === undefined ? undefined : { ...t };
  }

  /** Most recently active first (by last event time), then by session id: as the SQLite adapter. */
  async sessions(options: { readonly limit?: number } = {}): Promise<SessionSummary[]> {
    const all = [...this.data.totals].map(([session, totals]) => ({ session, totals: { ...totals } }));
    all.sort((a, b) => b.totals.lastMs - a.totals.lastMs || byBytes(a.session, b.session));
    return all.slice(0, options.limit ?? 1000);
  }

  async turns(session: string): Promise<TurnRecord[]> {
    const held = [...(this.data.turns.get(session) ?? [])];
    held.sort(([ta, a], [tb, b]) => a.startMs - b.startMs || byBytes(ta, tb));
    return held.map(([, t]) => JSON.parse(t.json) as TurnRecord);
  }

  async close(): Promise<void> {
    // Nothing to release; the data stays readable through `data` (a reopen shares it).
  }
}

function serialise(value: unknown): string {
  const json = JSON.stringify(value);
  // JSON.stringify returns undefined for a bare undefined or function: not a JSON value either.
  if (json === undefined) throw new TypeError(`not a JSON value: ${String(value)}`);
  return json;
}
