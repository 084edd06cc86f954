import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { KeptTexts, TextSegment } from './session-state-store.ts';

/**
 * The texts a format-3 checkpoint names, kept in the embedded store beside it. Each checkpoint's new
 * texts are ONE row (a segment: their bytes back to back, and `[id, length]` of each): a checkpoint
 * writes one blob, and a restore reads one buffer per segment and hands out views of it. A segment
 * goes once the checkpoint names none of its texts. Closed turns leave their grace in about the
 * order they closed, so segments empty in about the order they were written; the rows that hold
 * them are ~`grace / checkpoint interval` at any time.
 *
 * One row per text was measured first: a restore after 1M events of the bench (~15k held turns)
 * then made ~15k buffers (+74 ms, and ~40 MiB more RSS after a restart).
 */
export class SqliteCheckpointTexts {
  private readonly db: DatabaseSync;
  private readonly segmentIds: StatementSync;
  private readonly dropSegment: StatementSync;
  private readonly putSegment: StatementSync;

  constructor(db: DatabaseSync) {
    this.db = db;
    // `checkpoint_texts` (one row per text) was this store's first layout: its checkpoints are
    // rebuilt from the log once (their texts are "not kept"), and the rows would stay forever.
    db.exec(`DROP TABLE IF EXISTS checkpoint_texts;
      CREATE TABLE IF NOT EXISTS checkpoint_text_segments (segment INTEGER PRIMARY KEY, ids TEXT NOT NULL, bytes BLOB NOT NULL)`);
    this.segmentIds = db.prepare('SELECT segment, ids FROM checkpoint_text_segments');
    this.dropSegment = db.prepare('DELETE FROM checkpoint_text_segments WHERE segment = ?');
    this.putSegment = db.prepare('INSERT INTO checkpoint_text_segments (ids, bytes) VALUES (?, ?)');
  }

  /** Inside the checkpoint's transaction: keeps what `texts` names (nothing, without texts). */
  store(texts: KeptTexts | undefined): void {
    if (texts === undefined || texts.full === true) this.db.exec('DELETE FROM checkpoint_text_segments');
    else {
      for (const { segment, ids } of this.segmentIds.all() as { segment: number; ids: string }[]) {
        if (!(JSON.parse(ids) as [number, number][]).some(([id]) => texts.byId.has(id))) this.dropSegment.run(segment);
      }
    }
    const put = texts?.put ?? [];
    if (put.length === 0) return;
    const segment = texts!.segment ?? segmentOf(put, texts!.byId);
    this.putSegment.run(JSON.stringify(segment.ids), segment.bytes);
  }

  /** Every kept text by id, each a view of its segment's bytes. */
  read(): Map<number, Uint8Array> {
    const byId = new Map<number, Uint8Array>();
    for (const { ids, bytes } of this.db.prepare('SELECT ids, bytes FROM checkpoint_text_segments').iterate() as Iterable<{ ids: string; bytes: Uint8Array }>) {
      let at = 0;
      for (const [id, n] of JSON.parse(ids) as [number, number][]) {
        byId.set(id, bytes.subarray(at, at + n));
        at += n;
      }
    }
    return byId;
  }
}

/** The `put` texts as one segment (see `KeptTexts.segment`). */
function segmentOf(put: readonly number[], byId: KeptTexts['byId']): TextSegment {
  const parts: Uint8Array[] = new Array(put.length);
  const ids: [number, number][] = new Array(put.length);
  for (let i = 0; i < put.length; i++) {
    const id = put[i]!;
    const text = byId.get(id);
    if (text === undefined) throw new RangeError(`checkpoint text ${id} is to be kept but was not given`);
    parts[i] = typeof text === 'string' ? Buffer.from(text) : text;
    ids[i] = [id, parts[i]!.byteLength];
  }
  return { ids, bytes: Buffer.concat(parts) };
}
