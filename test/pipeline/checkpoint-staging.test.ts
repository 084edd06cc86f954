import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createPriceTable } from '../../src/events/price-table.ts';
import { createLogger } from '../../src/logger.ts';
import { openEmbeddedPipeline } from '../../src/pipeline/open-embedded-pipeline.ts';
import { CheckpointFiles } from '../../src/state/checkpoint-files.ts';
import { generateStream } from '../fixtures/agent-stream.ts';

const STREAM = generateStream();

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await sleep(10);
  assert.ok(check(), what);
}

describe('checkpoints staged as files: the pump goes on around them', { timeout: 60_000 }, () => {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  let dataDir = '';
  const open = () => {
    dataDir = mkdtempSync(join(tmpdir(), 'turnstream-staging-'));
    dirs.push(dataDir);
    return openEmbeddedPipeline({
      dataDir,
      prices: createPriceTable(),
      logger: createLogger({ level: 'error', write: () => undefined }),
      checkpoints: { everyEvents: 20 },
    });
  };

  it('with no new events, a begun checkpoint is still staged and committed (the pump goes on by itself)', async () => {
    const p = await open();
    try {
      await p.ingestor.ingest(STREAM.slice(0, 30), 'test');
      await p.pump.idle();
      assert.equal(p.processor.checkpointPosition, 30, 'the checkpoint of the only batch is committed without another batch');
      assert.equal(readdirSync(join(dataDir, 'checkpoints')).length >= 1, true);
    } finally {
      await p.close();
    }
  });

  it('a staging that does not finish (a stalled disk) holds up no event: later batches are processed and committed', async () => {
    const stage = CheckpointFiles.prototype.stage;
    CheckpointFiles.prototype.stage = () => new Promise<string>(() => undefined);
    const p = await open();
    try {
      await p.ingestor.ingest(STREAM.slice(0, 30), 'test');
      await until(() => p.processor.committedPosition === 30, 'the first batch is committed');
      await p.ingestor.ingest(STREAM.slice(30, 90), 'test');
      await until(() => p.processor.committedPosition === 90, `later events are processed while the checkpoint waits (at ${p.processor.committedPosition})`);
      assert.equal(p.processor.checkpointPosition, 0, 'no checkpoint was committed: its staging never finished');
    } finally {
      CheckpointFiles.prototype.stage = stage;
      await p.close();
    }
  });
});
