import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPriceTable } from '../../src/events/price-table.ts';
import { openEmbeddedPipeline } from '../../src/pipeline/open-embedded-pipeline.ts';
import { LogTrimmedError } from '../../src/log/log-trimmed.ts';

const DAY = 86_400_000;

/** One session's turn (start, one priced call, end) at `time`, ids prefixed by `session`. */
function turn(session: string, time: number): string[] {
  const e = (i: number, type: string, extra: object) => JSON.stringify({ v: 1, id: `${session}-${i}`, type, session, time: time + i * 1000, ...extra });
  return [
    e(0, 'turn.start', { turn: 't' }),
    e(1, 'llm.usage', { turn: 't', provider: 'anthropic', model: 'claude-sonnet-4-5', inputTokens: 100, outputTokens: 10, cost: 0.5 }),
    e(2, 'turn.end', { turn: 't', stopReason: 'end_turn' }),
  ];
}

describe('--retain: the log keeps N days, never beyond the checkpoint', { timeout: 60_000 }, () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'turnstream-retain-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('deletes old events once checkpointed; totals, restart and a replay of a trimmed session say so', async () => {
    const now = Date.now();
    const old = Array.from({ length: 20 }, (_, i) => turn(`old-${i}`, now - 10 * DAY + i * 60_000)).flat();
    const recent = Array.from({ length: 5 }, (_, i) => turn(`new-${i}`, now - 3_600_000 + i * 60_000)).flat();
    const options = { dataDir, prices: createPriceTable(), retainMs: 2 * DAY, retentionIntervalMs: 50, checkpoints: { everyEvents: 10 } };
    const p1 = await openEmbeddedPipeline(options);
    try {
      await p1.ingestor.ingest([...old, ...recent], 'file:history.ndjson');
      await p1.pump.idle();
      const deadline = Date.now() + 20_000;
      while (p1.store.log.trimmedThrough() === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const through = p1.store.log.trimmedThrough();
      assert.ok(through > 0, 'retention trimmed the log');
      assert.ok(through <= p1.processor.checkpointPosition, `trimmed through ${through}, never beyond the checkpoint ${p1.processor.checkpointPosition}`);
      assert.ok(through <= old.length, 'only events older than 2 days were deleted');
      // The derived state is untouched: totals of trimmed sessions stay.
      assert.equal((await p1.store.state.totals('old-0'))?.cost, 0.5);
      await assert.rejects(
        async () => {
          for await (const _ of p1.store.log.read({ after: 0 })) break;
        },
        (e: unknown) => e instanceof LogTrimmedError && /trimmed/.test(e.message),
      );
    } finally {
      await p1.close();
    }
    // A restart resumes from the checkpoint (after the trim point): no rebuild from a log that is gone.
    const p2 = await openEmbeddedPipeline(options);
    try {
      assert.ok(p2.processor.checkpointPosition >= p2.store.log.trimmedThrough());
      await p2.ingestor.ingest(turn('after-restart', now), 'file:more.ndjson');
      await p2.pump.idle();
      assert.equal(p2.pump.failure, undefined);
      assert.equal((await p2.store.state.totals('after-restart'))?.cost, 0.5);
      assert.equal((await p2.store.state.sessions()).length, 26);
    } finally {
      await p2.close();
    }
  });

  it('a restart that cannot use the checkpoint refuses to start with a clear message instead of rebuilding from a trimmed log', async () => {
    const now = Date.now();
    const options = { dataDir, prices: createPriceTable(), retainMs: DAY, retentionIntervalMs: 50, checkpoints: { everyEvents: 5 } };
    const p1 = await openEmbeddedPipeline(options);
    try {
      await p1.ingestor.ingest([...turn('a', now - 5 * DAY), ...turn('b', now - 4 * DAY), ...turn('c', now)], 'file:h.ndjson');
      await p1.pump.idle();
      const deadline = Date.now() + 20_000;
      while (p1.store.log.trimmedThrough() === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.ok(p1.store.log.trimmedThrough() > 0);
    } finally {
      await p1.close();
    }
    await assert.rejects(openEmbeddedPipeline({ ...options, graceMs: 1_000 }), (e: unknown) => {
      assert.match(
        String((e as Error).message),
        /cannot start: the open work must be rebuilt from the start of the log \(the checkpoint was written with other settings/,
      );
      assert.match(String((e as Error).message), /trimmed through position \d+/);
      assert.match(String((e as Error).message), /Start with the settings the checkpoint was written with, or with a new --data-dir/);
      return true;
    });
  });
});
