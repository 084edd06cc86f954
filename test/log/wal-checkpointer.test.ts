import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { parseLoggedEvent } from '../../src/events/parse-logged-event.ts';
import { LogWriter } from '../../src/log/log-writer.ts';
import { WalCheckpointer, WRITER_AUTOCHECKPOINT_PAGES } from '../../src/log/wal-checkpointer.ts';
import { openEmbeddedStore } from '../../src/state/open-embedded-store.ts';
import { openEmbeddedPipeline } from '../../src/pipeline/open-embedded-pipeline.ts';
import { loadPriceTable } from '../../src/events/price-table.ts';

const dirs: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'turnstream-ckpt-'));
  dirs.push(d);
  return d;
};
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const T0 = Date.parse('2026-03-02T10:00:00.000Z');
const line = (b: number, i: number): string =>
  JSON.stringify({ v: 1, id: `e${b}-${i}`, type: 'state.set', session: `s${i % 17}`, time: T0 + b * 1000 + i, seq: i, key: `k${i}`, value: 'x'.repeat(400) });

interface CheckpointRow {
  busy: number;
  log: number;
  checkpointed: number;
}

describe('the WAL checkpoint thread', () => {
  it('copies what the writers commit into the database file while they write, without their own checkpoints', async () => {
    const dataDir = tmp();
    const store = openEmbeddedStore({ dataDir, writable: true });
    const writer = await LogWriter.start({ dataDir, db: store.db });
    const checkpointer = await WalCheckpointer.start({ dataDir, intervalMs: 20 });
    const pragma = `PRAGMA wal_autocheckpoint = ${WRITER_AUTOCHECKPOINT_PAGES}`;
    store.db.exec(pragma);
    await writer.exec(pragma);
    const dbFile = join(dataDir, 'turnstream.db');
    const before = statSync(dbFile).size;
    let totals = { runs: 0, ms: 0 };
    try {
      for (let b = 0; b < 20; b++) {
        const batch = Array.from({ length: 250 }, (_, i) => {
          const raw = line(b, i);
          return { event: parseLoggedEvent(raw), raw };
        });
        const outcomes = await writer.append(batch);
        assert.ok(outcomes.every((o) => o.status === 'appended'));
        await sleep(5);
      }
      await sleep(100);
      // ~2 MiB of events, far below the writers' 256 MiB safety net: only the thread copied them.
      assert.ok(statSync(dbFile).size > before + 1_000_000, `database file grew from ${before} to ${statSync(dbFile).size} bytes`);
      const r = store.db.prepare('PRAGMA wal_checkpoint(PASSIVE)').get() as unknown as CheckpointRow;
      assert.equal(r.checkpointed, r.log, 'every committed frame was already copied');
      assert.equal(store.log.headSync(), 5_000);
    } finally {
      totals = await checkpointer.close();
      await writer.close();
      store.close();
    }
    assert.ok(totals.runs > 0, 'the thread ran checkpoints');
  });

  it('fails to start with the path when the store cannot be opened', async () => {
    const dataDir = tmp();
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, 'turnstream.db'), 'not a database, but long enough to be read as one '.repeat(100));
    await assert.rejects(WalCheckpointer.start({ dataDir }), /not a database|file is not a database/);
  });

  it('runs in the embedded server by default and stops with it', async () => {
    const dataDir = tmp();
    const pipeline = await openEmbeddedPipeline({ dataDir, prices: loadPriceTable() });
    try {
      const auto = pipeline.store.db.prepare('PRAGMA wal_autocheckpoint').get() as { wal_autocheckpoint: number };
      assert.equal(auto.wal_autocheckpoint, WRITER_AUTOCHECKPOINT_PAGES);
      const results = await pipeline.ingestor.ingest(
        Array.from({ length: 2_000 }, (_, i) => line(0, i)),
        'test',
      );
      assert.equal(results.filter((r) => r.status === 'accepted').length, 2_000);
      await sleep(600);
      const r = pipeline.store.db.prepare('PRAGMA wal_checkpoint(PASSIVE)').get() as unknown as CheckpointRow;
      assert.equal(r.checkpointed, r.log);
    } finally {
      await pipeline.close();
    }
  });
});
