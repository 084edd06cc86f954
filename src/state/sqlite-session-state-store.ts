import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { JsonValue } from '../model/json-value.ts';
import { addColumn, inTransaction } from '../log/open-sqlite.ts';
import { applyDeltas, type SessionDelta, type SessionTotals } from '../model/session-totals.ts';
import { fromStoredTurn, storedTurnOf, type TurnRecord } from '../model/turn-record.ts';
import {
  putEntry,
  RESERVED_KEY_PREFIX,
  TOTALS_KEY,
  type Checkpoint,
  type SessionStateStore,
  type SessionSummary,
  type StateCommit,
} from './session-state-store.ts';
import { CheckpointFiles } from './checkpoint-files.ts';
import { SqliteCheckpointTexts } from './sqlite-checkpoint-texts.ts';
import { winsOver, type StateEntry, type StateVersion, type StateWrite } from '../model/state-write.ts';

interface StateRow {
  value: string | null;
  deleted: number;
  v_time: number;
  v_seq: number;
  v_id: string;
}

/**
 * `SessionStateStore` on SQLite (the embedded default). Last-write-wins, deltas and the revision
 * rule come from `src/model/` (the same functions every adapter uses, so all adapters agree); the
 * revision rule is also the upsert's `WHERE`, so SQLite applies it in the statement itself.
 */
export class SqliteSessionStateStore implements SessionStateStore {
  private readonly db: DatabaseSync;
  private readonly selectOne: StatementSync;
  private readonly upsert: StatementSync;
  private readonly upsertTurn: StatementSync;
  private readonly setPosition: StatementSync;
  private readonly saveCheckpoint: StatementSync;
  private readonly selectClosedAt: StatementSync;
  private readonly selectClosedAtInBody: StatementSync;
  private readonly selectClosedAtMany: StatementSync;
  private readonly texts: SqliteCheckpointTexts;
  /** Checkpoints name the closed windows' texts, kept in segments of their own (format 3). */
  readonly keepsCheckpointTexts = true;
  /** Write-through cache of session totals: a commit reads each touched session's totals. */
  private readonly totalsCache = new Map<string, SessionTotals>();

  /** Where staged checkpoints' bytes go (undefined: a commit writes them into SQLite). */
  private readonly files: CheckpointFiles | undefined;
  /** Files the running transaction stopped naming: removed once it has committed. */
  private unnamed: string[] = [];

  /**
   * `checkpointDir`: stage checkpoints as files there (see `CheckpointFiles`); `sweep` (the server,
   * at open) deletes the files there that no row names.
   */
  constructor(db: DatabaseSync, options: { readonly checkpointDir?: string; readonly sweep?: boolean } = {}) {
    this.db = db;
    db.exec(`
      CREATE TABLE IF NOT EXISTS state (
        session TEXT NOT NULL, key TEXT NOT NULL, value TEXT, deleted INTEGER NOT NULL,
        v_time REAL NOT NULL, v_seq INTEGER NOT NULL, v_id TEXT NOT NULL,
        PRIMARY KEY (session, key)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS turns (
        session TEXT NOT NULL, turn TEXT NOT NULL, revision INTEGER NOT NULL, start_ms REAL NOT NULL, body TEXT NOT NULL,
        UNIQUE (session, turn));
      CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), format INTEGER NOT NULL, position INTEGER NOT NULL, data BLOB NOT NULL);`);
    addColumn(db, 'checkpoint', 'file', 'TEXT');
    // The late-event check reads it for every new turn (a rebuild: every turn of the log); from the
    // body it cost a json_extract of the whole stored turn (~30 µs). Rows of earlier versions keep NULL.
    addColumn(db, 'turns', 'closed_at_pos', 'INTEGER');
    // Answers that check from the index alone: the column sits after the body in each row, and
    // reaching it read the body's overflow pages (14 → 6 µs a lookup at 18k stored turns).
    db.exec('CREATE INDEX IF NOT EXISTS turns_closed_at ON turns (session, turn, closed_at_pos)');
    this.files = options.checkpointDir === undefined ? undefined : new CheckpointFiles(options.checkpointDir);
    this.texts = new SqliteCheckpointTexts(db, this.files);
    this.selectOne = db.prepare('SELECT value, deleted, v_time, v_seq, v_id FROM state WHERE session = ? AND key = ?');
    this.upsert = db.prepare(`INSERT INTO state (session, key, value, deleted, v_time, v_seq, v_id) VALUES (?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (session, key) DO UPDATE SET value = excluded.value, deleted = excluded.deleted,
        v_time = excluded.v_time, v_seq = excluded.v_seq, v_id = excluded.v_id`);
    this.upsertTurn = db.prepare(`INSERT INTO turns (session, turn, revision, start_ms, body, closed_at_pos) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (session, turn) DO UPDATE SET revision = excluded.revision, start_ms = excluded.start_ms, body = excluded.body,
        closed_at_pos = excluded.closed_at_pos
      WHERE excluded.revision >= turns.revision`);
    this.setPosition = db.prepare(`INSERT INTO meta (name, value) VALUES ('position', ?)
      ON CONFLICT (name) DO UPDATE SET value = MAX(meta.value, excluded.value)`);
    this.saveCheckpoint = db.prepare(`INSERT INTO checkpoint (id, format, position, data, file) VALUES (1, ?, ?, ?, ?)
      ON CONFLICT (id) DO UPDATE SET format = excluded.format, position = excluded.position, data = excluded.data, file = excluded.file`);
    if (options.sweep === true && this.files !== undefined) this.files.sweep(new Set([...this.texts.named(), ...this.checkpointFile()]));
    this.selectClosedAt = db.prepare('SELECT closed_at_pos AS at FROM turns INDEXED BY turns_closed_at WHERE session = ? AND turn = ?');
    this.selectClosedAtMany = db.prepare(`SELECT j.key AS i, t.closed_at_pos AS at FROM json_each(?) j
      JOIN turns t INDEXED BY turns_closed_at ON t.session = j.value ->> 0 AND t.turn = j.value ->> 1`);
    this.selectClosedAtInBody = db.prepare("SELECT json_extract(body, '$.closedAtPos') AS at FROM turns WHERE session = ? AND turn = ?");
  }

  private row(session: string, key: string): StateRow | undefined {
    return this.selectOne.get(session, key) as StateRow | undefined;
  }

  private applyWrite(w: StateWrite): void {
    const existing = this.row(w.session, w.key);
    if (existing !== undefined && !winsOver(w.version, { time: existing.v_time, seq: existing.v_seq, id: existing.v_id })) return;
    const value = w.deleted ? null : JSON.stringify(w.value);
    this.upsert.run(w.session, w.key, value, w.deleted ? 1 : 0, w.version.time, w.version.seq, w.version.id);
  }

  private applyDeltas(deltas: readonly SessionDelta[], position: number): Map<string, SessionTotals> {
    const merged = applyDeltas(deltas, (session) => this.totalsSync(session));
    for (const [session, totals] of merged) {
      this.upsert.run(session, TOTALS_KEY, JSON.stringify(totals), 0, totals.lastMs, position, '');
    }
    return merged;
  }

  commitSync(batch: StateCommit): void {
    this.unnamed = [];
    const totals = inTransaction(this.db, () => {
      // Exactly-once: a batch at or below the committed position was applied already. A checkpoint
      // alone may be saved at the committed position (a clean shutdown's).
      const committed = this.positionSync();
      if (batch.position < committed) return undefined;
      if (batch.position === committed) {
        if (batch.checkpoint !== undefined && batch.writes.length + batch.deltas.length + batch.turns.length === 0) this.storeCheckpoint(batch.checkpoint);
        return undefined;
      }
      if (batch.checkpoint !== undefined) this.storeCheckpoint(batch.checkpoint);
      for (const w of batch.writes) this.applyWrite(w);
      const merged = this.applyDeltas(batch.deltas, batch.position);
      for (const t of batch.turns) this.upsertTurn.run(t.session, t.turn, t.revision, t.startMs, JSON.stringify(storedTurnOf(t)), t.closedAtPos);
      this.setPosition.run(batch.position);
      return merged;
    });
    // Only once the transaction has committed: a rolled-back commit must not leave cached totals.
    for (const [session, t] of totals ?? []) this.cacheTotals(session, t);
    this.files?.remove(this.unnamed);
  }

  async commit(batch: StateCommit): Promise<void> {
    this.commitSync(batch);
  }

  async stageCheckpoint(c: Checkpoint): Promise<Checkpoint> {
    if (this.files === undefined) return c;
    const [doc, texts] = await Promise.all([this.files.stage('checkpoint', c.data), this.texts.stage(c.texts)]);
    return { ...c, ...(texts.texts === undefined ? {} : { texts: texts.texts }), staged: { doc, ...(texts.file === undefined ? {} : { texts: texts.file }) } };
  }

  unstageCheckpoint(c: Checkpoint): void {
    if (c.staged === undefined) return;
    this.files?.remove(c.staged.texts === undefined ? [c.staged.doc] : [c.staged.doc, c.staged.texts]);
  }

  /** Saves `c` in place of the held checkpoint, its kept texts changed as it says (all gone for a checkpoint without). */
  private storeCheckpoint(c: Checkpoint): void {
    this.unnamed.push(...this.texts.store(c.texts, c.staged?.texts), ...this.checkpointFile());
    this.saveCheckpoint.run(c.format, c.position, c.staged === undefined ? c.data : new Uint8Array(0), c.staged?.doc ?? null);
  }

  /** The file the stored checkpoint's document is in, if it was staged. */
  private checkpointFile(): string[] {
    const r = this.db.prepare('SELECT file FROM checkpoint WHERE id = 1').get() as { file: string | null } | undefined;
    return r?.file == null ? [] : [r.file];
  }

  /** The latest checkpoint committed, or undefined (none yet: a store from before checkpoints, or fresh). */
  async checkpoint(): Promise<Checkpoint | undefined> {
    const r = this.db.prepare('SELECT format, position, data, file FROM checkpoint WHERE id = 1').get() as
      | { format: number; position: number; data: Uint8Array | string; file: string | null }
      | undefined;
    if (r === undefined) return undefined;
    // Format 1 was written as TEXT (and is not read any more, but is returned as what it is).
    let data = typeof r.data === 'string' ? Buffer.from(r.data) : r.data;
    if (r.file !== null) {
      try {
        data = this.files!.read(r.file);
      } catch {
        data = new Uint8Array(0); // its file is gone: reads as damaged, and the processor rebuilds from the log
      }
    }
    const byId = this.texts.read();
    return { format: r.format, position: r.position, data, ...(byId.size === 0 ? {} : { texts: { byId } }) };
  }

  closedTurnsAt(turns: readonly (readonly [session: string, turn: string])[]): (number | undefined | null)[] {
    const out: (number | undefined | null)[] = new Array(turns.length).fill(undefined);
    if (turns.length === 0) return out;
    // One statement for the batch: the index probes run in SQLite, not one node:sqlite call (~4 µs) each.
    for (const r of this.selectClosedAtMany.all(JSON.stringify(turns)) as { i: number; at: number | null }[]) out[r.i] = r.at;
    return out;
  }

  closedTurnAt(session: string, turn: string): number | undefined {
    const r = this.selectClosedAt.get(session, turn) as { at: number | null } | undefined;
    if (r === undefined) return undefined;
    if (r.at !== null) return r.at;
    // Stored by a version without the column.
    const old = this.selectClosedAtInBody.get(session, turn) as { at: number | null } | undefined;
    return old?.at ?? 0;
  }

  async get(session: string, key: string): Promise<StateEntry | undefined> {
    const r = this.row(session, key);
    if (r === undefined) return undefined;
    const version: StateVersion = { time: r.v_time, seq: r.v_seq, id: r.v_id };
    return { value: r.value === null ? undefined : (JSON.parse(r.value) as JsonValue), deleted: r.deleted === 1, version };
  }

  async list(session: string): Promise<Record<string, JsonValue>> {
    const rows = this.db.prepare('SELECT key, value FROM state WHERE session = ? AND deleted = 0 ORDER BY key').all(session) as {
      key: string;
      value: string;
    }[];
    const out: Record<string, JsonValue> = {};
    for (const r of rows) if (!r.key.startsWith(RESERVED_KEY_PREFIX)) putEntry(out, r.key, JSON.parse(r.value) as JsonValue);
    return out;
  }

  async set(session: string, key: string, value: JsonValue, version: StateVersion): Promise<void> {
    inTransaction(this.db, () => this.applyWrite({ session, key, deleted: false, value, version }));
  }

  async delete(session: string, key: string, version: StateVersion): Promise<void> {
    inTransaction(this.db, () => this.applyWrite({ session, key, deleted: true, version }));
  }

  positionSync(): number {
    const r = this.db.prepare("SELECT value FROM meta WHERE name = 'position'").get() as { value: number } | undefined;
    return r?.value ?? 0;
  }

  async position(): Promise<number> {
    return this.positionSync();
  }

  private cacheTotals(session: string, totals: SessionTotals): void {
    this.totalsCache.delete(session);
    this.totalsCache.set(session, totals);
    // Bounded: drop the least recently written when over the cap (Map keeps insertion order).
    if (this.totalsCache.size > 100_000) this.totalsCache.delete(this.totalsCache.keys().next().value!);
  }

  private totalsSync(session: string): SessionTotals | undefined {
    const cached = this.totalsCache.get(session);
    if (cached !== undefined) return cached;
    const r = this.row(session, TOTALS_KEY);
    return r?.value == null ? undefined : (JSON.parse(r.value) as SessionTotals);
  }

  async totals(session: string): Promise<SessionTotals | undefined> {
    return this.totalsSync(session);
  }

  async sessions(options: { limit?: number } = {}): Promise<SessionSummary[]> {
    const rows = this.db
      .prepare('SELECT session, value FROM state WHERE key = ? ORDER BY v_time DESC, session LIMIT ?')
      .all(TOTALS_KEY, options.limit ?? 1000) as { session: string; value: string }[];
    return rows.map((r) => ({ session: r.session, totals: JSON.parse(r.value) as SessionTotals }));
  }

  async turns(session: string): Promise<TurnRecord[]> {
    const rows = this.db.prepare('SELECT body FROM turns WHERE session = ? ORDER BY start_ms, turn').all(session) as { body: string }[];
    return rows.map((r) => fromStoredTurn(JSON.parse(r.body)));
  }

  async close(): Promise<void> {
    // The database handle is shared and closed by its owner (the embedded store).
  }
}
