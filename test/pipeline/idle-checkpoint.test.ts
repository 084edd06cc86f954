import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { createPriceTable } from '../../src/events/price-table.ts';
import { openEmbeddedPipeline } from '../../src/pipeline/open-embedded-pipeline.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const EVERY_MS = 1_500;
const line = (i: number): string =>
  `{"v":1,"id":"idle-${i}","type":"state.set","session":"s${i % 7}","time":"2026-03-02T10:00:00Z","seq":${i},"key":"k${i % 13}","value":${i}}`;

it('a pipeline gone idle with progress no checkpoint holds checkpoints it once due by time, without new events', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'turnstream-idle-'));
  dirs.push(dataDir);
  const p = await openEmbeddedPipeline({ dataDir, prices: createPriceTable(), checkpoints: { everyEvents: 100, everyMs: EVERY_MS } });
  try {
    // 100 events: due by count, checkpointed with their batch.
    await p.ingestor.ingest(
      Array.from({ length: 100 }, (_, i) => line(i)),
      'test',
    );
    await p.pump.idle();
    assert.equal(p.processor.checkpointPosition, 100);
    // 10 more at once: neither due by count (10 < 100) nor by time (far less than 1.5 s since the last).
    const sent = performance.now();
    await p.ingestor.ingest(
      Array.from({ length: 10 }, (_, i) => line(100 + i)),
      'test',
    );
    await p.pump.idle();
    assert.equal(p.processor.committedPosition, 110);
    assert.equal(p.processor.checkpointPosition, 100, 'not due yet: no checkpoint with the batch');
    assert.ok(performance.now() - sent < EVERY_MS, 'the batch came before a checkpoint was due by time (the premise)');
    // No new events: the pump checkpoints the 10 once 1.5 s have passed since the last checkpoint.
    const deadline = Date.now() + 10_000;
    while (p.processor.checkpointPosition < 110 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(p.processor.checkpointPosition, 110);
    assert.equal((await p.store.state.checkpoint())?.position, 110, 'committed to the store');
  } finally {
    await p.close();
  }
});
