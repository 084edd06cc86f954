import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { addColumn } from '../log/open-sqlite.ts';
import type { CheckpointFiles } from './checkpoint-files.ts';
import type { KeptTexts } from './session-state-store.ts';
import { textSegment } from './text-segment.ts';

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
  private readonly files: CheckpointFiles | undefined;
  private readonly segmentIds: StatementSync;
  private readonly dropSegment: StatementSync;
  private readonly putSegment: StatementSync;

  constructor(db: DatabaseSync, files: CheckpointFiles | undefined) {
    this.db = db;
    this.files = files;
    // `checkpoint_texts` (one row per text) was this store's first layout: its checkpoints are
    // rebuilt from the log once (their texts are "not kept"), and the rows would stay forever.
    db.exec(`DROP TABLE IF EXISTS checkpoint_texts;
      CREATE TABLE IF NOT EXISTS checkpoint_text_segments (segment INTEGER PRIMARY KEY, ids TEXT NOT NULL, bytes BLOB NOT NULL)`);
    // A segment staged as a file (`stage`) has its name here and no bytes.
    addColumn(db, 'checkpoint_text_segments', 'file', 'TEXT');
    this.segmentIds = db.prepare('SELECT segment, ids, file FROM checkpoint_text_segments');
    this.dropSegment = db.prepare('DELETE FROM checkpoint_text_segments WHERE segment = ?');
    this.putSegment = db.prepare('INSERT INTO checkpoint_text_segments (ids, bytes, file) VALUES (?, ?, ?)');
  }

  /** `texts` with its new texts written to a file (`file`, durable) for `store` to name: nothing to write for a checkpoint that puts none. */
  async stage(texts: KeptTexts | undefined): Promise<{ readonly texts: KeptTexts | undefined; readonly file?: string }> {
    const put = texts?.put ?? [];
    if (texts === undefined || put.length === 0) return { texts };
    const segment = texts.segment ?? textSegment(put, texts.byId);
    if (this.files === undefined) return { texts };
    return { texts: { ...texts, segment }, file: await this.files.stage('texts', segment.bytes) };
  }

  /**
   * Inside the checkpoint's transaction: keeps what `texts` names (nothing, without texts); its new
   * texts are the segment staged as `file`, else written here. The files of the segments dropped,
   * to remove once the transaction has committed.
   */
  store(texts: KeptTexts | undefined, file?: string): string[] {
    const unnamed: string[] = [];
    for (const { segment, ids, file: f } of this.segmentIds.all() as { segment: number; ids: string; file: string | null }[]) {
      if (texts !== undefined && texts.full !== true && (JSON.parse(ids) as [number, number][]).some(([id]) => texts.byId.has(id))) continue;
      this.dropSegment.run(segment);
      if (f !== null) unnamed.push(f);
    }
    const put = texts?.put ?? [];
    if (put.length === 0) return unnamed;
    const segment = texts!.segment ?? textSegment(put, texts!.byId);
    this.putSegment.run(JSON.stringify(segment.ids), file === undefined ? segment.bytes : EMPTY, file ?? null);
    return unnamed;
  }

  /** Every kept text by id, each a view of its segment's bytes (a segment whose file is gone names none: the checkpoint reads as damaged). */
  read(): Map<number, Uint8Array> {
    const byId = new Map<number, Uint8Array>();
    for (const row of this.db.prepare('SELECT ids, bytes, file FROM checkpoint_text_segments').iterate() as Iterable<{
      ids: string;
      bytes: Uint8Array;
      file: string | null;
    }>) {
      let bytes = row.bytes;
      if (row.file !== null) {
        try {
          bytes = this.files!.read(row.file);
        } catch {
          continue;
        }
      }
      let at = 0;
      for (const [id, n] of JSON.parse(row.ids) as [number, number][]) {
        byId.set(id, bytes.subarray(at, at + n));
        at += n;
      }
    }
    return byId;
  }

  /** The files the segments name. */
  named(): string[] {
    return (this.segmentIds.all() as { file: string | null }[]).flatMap((r) => (r.file === null ? [] : [r.file]));
  }
}

const EMPTY = new Uint8Array(0);
