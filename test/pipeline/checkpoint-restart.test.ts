import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { createPriceTable } from '../../src/events/price-table.ts';
import { createLogger } from '../../src/logger.ts';
import type { TurnAggregate } from '../../src/model/turn-aggregate.ts';
import { openEmbeddedPipeline, type EmbeddedPipelineOptions } from '../../src/pipeline/open-embedded-pipeline.ts';
import { generateStream } from '../fixtures/agent-stream.ts';
import { storeView } from '../helpers/store-view.ts';

const STREAM = generateStream();
const N = STREAM.length;

interface Run {
  readonly aggregates: TurnAggregate[];
  readonly logs: Record<string, unknown>[];
}

/** Opens the embedded pipeline on `dataDir`, collecting aggregates and log lines into `run`. */
async function open(dataDir: string, run: Run, extra: Partial<EmbeddedPipelineOptions> = {}) {
  const logger = createLogger({ level: 'info', write: (line) => run.logs.push(JSON.parse(line) as Record<string, unknown>) });
  return openEmbeddedPipeline({ dataDir, prices: createPriceTable(), logger, onAggregate: (a) => run.aggregates.push(a), ...extra });
}

/** `settle`: wait after each chunk until it is processed and any checkpoint it began is committed. */
async function ingest(pipeline: Awaited<ReturnType<typeof open>>, lines: readonly string[], settle = false): Promise<void> {
  for (let i = 0; i < lines.length; i += 13) {
    await pipeline.ingestor.ingest(lines.slice(i, i + 13), 'file:stream.ndjson');
    if (settle) await pipeline.pump.idle();
  }
  await pipeline.pump.idle();
  assert.equal(pipeline.pump.failure, undefined);
}

/** The uninterrupted run, with checkpoints off: the reference every restart must match. */
async function reference(dir: string) {
  const run: Run = { aggregates: [], logs: [] };
  const p = await open(dir, run, { checkpoints: { everyEvents: 0 } });
  try {
    await ingest(p, STREAM);
    return { aggregates: run.aggregates, view: await storeView(p) };
  } finally {
    await p.close();
  }
}

const msgs = (run: Run): string[] => run.logs.map((l) => String(l['msg']));

describe('checkpoints: a restart restores the open work and reads only the log after it', { timeout: 120_000 }, () => {
  let root: string;
  let ref: Awaited<ReturnType<typeof reference>>;
  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), 'turnstream-ckpt-'));
    ref = await reference(join(root, 'ref'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  /** Runs the stream up to `cut`, crashes (no final checkpoint), restarts and runs the rest: must match the reference. */
  async function crashAt(
    cut: number,
    checkpoints: NonNullable<EmbeddedPipelineOptions['checkpoints']>,
    name: string,
  ): Promise<Array<readonly [number, number]>> {
    const dir = join(root, `${name}-${cut}`);
    const first: Run = { aggregates: [], logs: [] };
    const p1 = await open(dir, first, { checkpoints });
    // Which checkpoint position each commit carried, with the batch's own position.
    const carried: Array<readonly [number, number]> = [];
    const state = p1.store.state;
    const commit = state.commit.bind(state);
    state.commit = async (batch) => {
      if (batch.checkpoint !== undefined) carried.push([batch.position, batch.checkpoint.position]);
      return commit(batch);
    };
    await ingest(p1, STREAM.slice(0, cut));
    const checkpointAt = p1.processor.checkpointPosition;
    assert.ok(cut < 7 || checkpointAt > 0, `a checkpoint was written before the cut at ${cut}`);
    // A crash: no final checkpoint, so the restart resumes from the last periodic one.
    p1.processor.checkpointNow = async () => undefined;
    await p1.close();
    const second: Run = { aggregates: [], logs: [] };
    const p2 = await open(dir, second, { checkpoints });
    try {
      assert.equal(p2.processor.checkpointPosition, checkpointAt, 'the restart starts from the last checkpoint');
      if (checkpointAt > 0) assert.ok(msgs(second).includes('restored open work from checkpoint'), `cut ${cut}: ${msgs(second).join(' | ')}`);
      await ingest(p2, STREAM.slice(cut));
      assert.deepEqual([...first.aggregates, ...second.aggregates], ref.aggregates, `cut ${cut}: the same aggregates, in the same order`);
      assert.deepEqual(await storeView(p2), ref.view, `cut ${cut}: the same store`);
    } finally {
      await p2.close();
    }
    return carried;
  }

  it('crash (no final checkpoint) at many points: the aggregates after restart are exactly those of an uninterrupted run', async () => {
    for (const cut of [1, 17, 60, Math.floor(N / 2), N - 3]) {
      await crashAt(cut, { everyEvents: 7, everyMs: 3_600_000 }, 'cut');
    }
  });

  it('a checkpoint encoded over several batches (sliceMs 0) is committed with a later one, and restores exactly the same', async () => {
    let later = 0;
    for (const cut of [17, 60, Math.floor(N / 2), N - 3]) {
      const carried = await crashAt(cut, { everyEvents: 7, everyMs: 3_600_000, sliceMs: 0 }, 'sliced');
      for (const [at, of] of carried) assert.ok(of <= at, `checkpoint at ${of} committed with the batch at ${at}`);
      later += carried.filter(([at, of]) => of < at).length;
    }
    assert.ok(later > 0, 'some checkpoints were committed with a batch after the one they were taken in');
  });

  it('a clean stop checkpoints at the committed position: the next start reads nothing of the log', async () => {
    const dir = join(root, 'clean');
    const first: Run = { aggregates: [], logs: [] };
    const p1 = await open(dir, first);
    await ingest(p1, STREAM.slice(0, 100));
    await p1.close();
    const second: Run = { aggregates: [], logs: [] };
    const p2 = await open(dir, second);
    try {
      assert.equal(p2.processor.checkpointPosition, 100, 'the final checkpoint is at the committed position');
      assert.equal(p2.processor.resumeFrom, 100);
      await ingest(p2, STREAM.slice(100));
      assert.deepEqual([...first.aggregates, ...second.aggregates], ref.aggregates);
      assert.deepEqual(await storeView(p2), ref.view);
    } finally {
      await p2.close();
    }
  });

  const damages: readonly (readonly [string, (db: DatabaseSync) => void, RegExp])[] = [
    ['a checkpoint missing one of its kept texts', (db) => dropOneKeptText(db), /damaged \(its text \d+ is not kept\)/],
    ['a checkpoint whose document does not parse', (db) => rewriteDocument(db, (doc) => doc.slice(0, doc.length / 2)), /does not parse/],
    ['a checkpoint of another format version', (db) => db.exec('UPDATE checkpoint SET format = format + 1'), /format/],
    [
      'a checkpoint whose open work is damaged',
      (db) => rewriteDocument(db, () => '{"settings":"x","work":{"windows":42,"poisoned":[]}}'),
      /open work is missing/,
    ],
    ['a checkpoint written with other settings', (db) => rewriteDocument(db, (doc) => JSON.stringify({ ...JSON.parse(doc), settings: 'x' })), /other settings/],
  ];
  for (const [what, damage, reason] of damages) {
    it(`${what} falls back to a full rebuild with one clear log line, and exact results`, async () => {
      const dir = join(root, 'damaged');
      const first: Run = { aggregates: [], logs: [] };
      const p1 = await open(dir, first, { checkpoints: { everyEvents: 7 } });
      await ingest(p1, STREAM.slice(0, 150));
      p1.processor.checkpointNow = async () => undefined;
      damage(p1.store.db);
      await p1.close();
      const second: Run = { aggregates: [], logs: [] };
      const p2 = await open(dir, second, { checkpoints: { everyEvents: 7 } });
      try {
        const line = second.logs.find((l) => l['msg'] === 'rebuilding open work from the start of the log');
        assert.ok(line !== undefined, `one line says the open work is rebuilt: ${msgs(second).join(' | ')}`);
        assert.match(String(line['reason']), reason);
        assert.equal(p2.processor.resumeFrom, 150, 'caught up (the rebuild read the log from the start)');
        await ingest(p2, STREAM.slice(150));
        assert.deepEqual([...first.aggregates, ...second.aggregates], ref.aggregates);
        assert.deepEqual(await storeView(p2), ref.view);
      } finally {
        await p2.close();
      }
    });
  }

  it('open work whose snapshot cannot be restored (valid JSON, wrong shape) also falls back, never crashes', async () => {
    const dir = join(root, 'shape');
    const first: Run = { aggregates: [], logs: [] };
    const p1 = await open(dir, first, { checkpoints: { everyEvents: 7 } });
    await ingest(p1, STREAM.slice(0, 120));
    p1.processor.checkpointNow = async () => undefined;
    // Same settings, same format, but the windows' snapshot replaced by something else.
    rewriteDocument(p1.store.db, (doc) => JSON.stringify({ ...JSON.parse(doc), work: { ...JSON.parse(doc).work, windows: { nonsense: true } } }));
    await p1.close();
    const second: Run = { aggregates: [], logs: [] };
    const p2 = await open(dir, second, { checkpoints: { everyEvents: 7 } });
    try {
      assert.ok(msgs(second).includes('the checkpoint could not be restored'), msgs(second).join(' | '));
      assert.ok(msgs(second).includes('rebuilding open work from the start of the log'));
      await ingest(p2, STREAM.slice(120));
      assert.deepEqual([...first.aggregates, ...second.aggregates], ref.aggregates);
      assert.deepEqual(await storeView(p2), ref.view);
    } finally {
      await p2.close();
    }
  });

  it('kept texts: each checkpoint writes the texts made since the last one, and the store keeps exactly those it names', async () => {
    const dir = join(root, 'kept');
    const first: Run = { aggregates: [], logs: [] };
    const p1 = await open(dir, first, { checkpoints: { everyEvents: 7 } });
    let named = 0;
    let put = 0;
    let writing = 0;
    const commit = p1.store.state.commit.bind(p1.store.state);
    p1.store.state.commit = async (batch) => {
      named += batch.checkpoint?.texts?.byId.size ?? 0;
      put += batch.checkpoint?.texts?.put?.length ?? 0;
      if ((batch.checkpoint?.texts?.put?.length ?? 0) > 0) writing++;
      return commit(batch);
    };
    await ingest(p1, STREAM.slice(0, 200), true);
    p1.processor.checkpointNow = async () => undefined;
    const db = p1.store.db;
    const { doc, format } = storedDocument(db);
    const ids = (JSON.parse(doc) as { textIds: number[] }).textIds;
    const segments = (db.prepare('SELECT ids FROM checkpoint_text_segments').all() as { ids: string }[]).map((r) =>
      (JSON.parse(r.ids) as [number, number][]).map(([id]) => id),
    );
    await p1.close();
    assert.equal(format, 3);
    assert.ok(ids.length > 0, 'closed turns are held for their grace');
    const kept = new Set(segments.flat());
    assert.deepEqual(
      ids.filter((id) => !kept.has(id)),
      [],
      'no text missing',
    );
    assert.ok(
      segments.every((seg) => seg.some((id) => ids.includes(id))),
      'no segment the checkpoint names nothing of',
    );
    assert.ok(segments.length <= writing, `${segments.length} segments, ${writing} checkpoints wrote texts: one row each at most`);
    // A closed turn's text is named by every checkpoint of its grace, but written once.
    assert.ok(put < named / 2, `texts written ${put}, named ${named}`);
    const second: Run = { aggregates: [], logs: [] };
    const p2 = await open(dir, second, { checkpoints: { everyEvents: 7 } });
    try {
      assert.ok(msgs(second).includes('restored open work from checkpoint'));
      await ingest(p2, STREAM.slice(200));
      assert.deepEqual([...first.aggregates, ...second.aggregates], ref.aggregates);
      assert.deepEqual(await storeView(p2), ref.view);
    } finally {
      await p2.close();
    }
  });

  it('a store holding a checkpoint of the earlier format (texts inside) restores from it, then keeps texts', async () => {
    const dir = join(root, 'format2');
    const first: Run = { aggregates: [], logs: [] };
    const p1 = await open(dir, first, { checkpoints: { everyEvents: 7 } });
    // As a store of the earlier version wrote them: everything in the one blob.
    Object.defineProperty(p1.store.state, 'keepsCheckpointTexts', { value: false });
    await ingest(p1, STREAM.slice(0, 150));
    p1.processor.checkpointNow = async () => undefined;
    const before = p1.store.db.prepare('SELECT format FROM checkpoint WHERE id = 1').get() as { format: number };
    await p1.close();
    assert.equal(before.format, 2);
    const second: Run = { aggregates: [], logs: [] };
    const p2 = await open(dir, second, { checkpoints: { everyEvents: 7 } });
    try {
      assert.ok(msgs(second).includes('restored open work from checkpoint'), msgs(second).join(' | '));
      await ingest(p2, STREAM.slice(150));
      assert.deepEqual([...first.aggregates, ...second.aggregates], ref.aggregates);
      assert.deepEqual(await storeView(p2), ref.view);
      const after = p2.store.db.prepare('SELECT format FROM checkpoint WHERE id = 1').get() as { format: number };
      assert.equal(after.format, 3);
    } finally {
      await p2.close();
    }
  });

  it('a restart with other window settings does not continue open work made under the old ones', async () => {
    const dir = join(root, 'settings');
    const first: Run = { aggregates: [], logs: [] };
    const p1 = await open(dir, first);
    await ingest(p1, STREAM.slice(0, 80));
    await p1.close();
    const second: Run = { aggregates: [], logs: [] };
    const p2 = await open(dir, second, { graceMs: 123_000 });
    try {
      const line = second.logs.find((l) => l['msg'] === 'rebuilding open work from the start of the log');
      assert.match(String(line?.['reason']), /other settings/);
    } finally {
      await p2.close();
    }
  });
});

/** The stored checkpoint's document (in the file the row names, where the store staged it) and format. */
function storedDocument(db: DatabaseSync): { readonly doc: string; readonly format: number; readonly file: string | undefined } {
  const { data, format, file } = db.prepare('SELECT data, format, file FROM checkpoint WHERE id = 1').get() as {
    data: Uint8Array;
    format: number;
    file: string | null;
  };
  if (file === null) return { doc: Buffer.from(data).toString('utf8'), format, file: undefined };
  const path = join(dirname(db.location()!), 'checkpoints', file);
  return { doc: readFileSync(path, 'utf8'), format, file: path };
}

/** Replaces the JSON document of the stored (format 3) checkpoint, keeping its texts: damage of one part only. */
function rewriteDocument(db: DatabaseSync, change: (doc: string) => string): void {
  const { doc, format, file } = storedDocument(db);
  assert.equal(format, 3, 'the embedded store keeps texts beside the document');
  assert.ok(file !== undefined, 'the server stages the document as a file');
  writeFileSync(file, change(doc));
}

/** Deletes texts the stored checkpoint names (there must be some: closed turns are held for their grace). */
function dropOneKeptText(db: DatabaseSync): void {
  const { n } = db.prepare('SELECT count(*) AS n FROM checkpoint_text_segments').get() as { n: number };
  assert.ok(n > 0, 'the checkpoint keeps texts');
  db.exec('DELETE FROM checkpoint_text_segments WHERE segment = (SELECT max(segment) FROM checkpoint_text_segments)');
}
