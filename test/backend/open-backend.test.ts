import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openBackend } from '../../src/backend/open-backend.ts';
import { TurnstreamError } from '../../src/errors.ts';
import { createPriceTable } from '../../src/events/price-table.ts';
import { createLogger } from '../../src/logger.ts';
import { expectedTotals, generateStream, SESSIONS } from '../fixtures/agent-stream.ts';
import { messyStream } from '../replay/messy-stream.ts';

// The embedded backend through the one port every command uses; the Kafka one is exercised by
// the CLI and e2e tests against a real broker (test/backend/kafka-health.int.test.ts for /healthz).
describe('openBackend (embedded)', () => {
  const root = mkdtempSync(join(tmpdir(), 'turnstream-backend-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('serves: ingest, then readers, health and processed tell what was committed', async () => {
    const dataDir = join(root, 'serve');
    const backend = await openBackend({ dataDir }, { mode: 'serve', prices: createPriceTable() });
    try {
      assert.equal(backend.mode, 'embedded');
      const stream = generateStream();
      const results = await backend.ingest.ingest(stream, 'test');
      assert.ok(results.every((r) => r.status === 'accepted'));
      await backend.settled();
      assert.equal(backend.processed(), stream.length);
      const health = backend.health();
      assert.equal(health.ok, true);
      assert.equal(health.mode, 'embedded');
      assert.equal(health['lag'], 0);
      const listed = await backend.readers.state.sessions({ limit: 100 });
      assert.equal(listed.length, SESSIONS);
      assert.equal((await backend.readers.state.totals('sess-0'))?.llmCalls, expectedTotals(0).llmCalls);
      assert.deepEqual(await backend.readers.deadLetters.countByReason(), {});
      assert.deepEqual([...(backend.knownIds?.([JSON.parse(stream[0]!).id, 'no-such-id']) ?? [])], [JSON.parse(stream[0]!).id]);

      // A read-only open beside the server takes no lock and sees the same committed state and log.
      const reader = await openBackend({ dataDir }, { mode: 'read', purpose: 'report' });
      try {
        assert.equal(reader.ingest, undefined);
        assert.deepEqual(await reader.readers.state.totals('sess-0'), await backend.readers.state.totals('sess-0'));
        const all = await reader.readers.log.all();
        assert.deepEqual(await all.heads(), [stream.length]);
        assert.equal((await reader.readers.log.extent?.('sess-1'))?.events, stream.filter((l) => JSON.parse(l).session === 'sess-1').length);
      } finally {
        await reader.close();
      }
      // A second server is refused: the data dir is locked to the first.
      await assert.rejects(openBackend({ dataDir }, { mode: 'serve', prices: createPriceTable() }));
    } finally {
      await backend.close();
    }
  });

  it('reading a directory without a store fails with what to do, worded for the command', async () => {
    const dataDir = join(root, 'nothing-here');
    await assert.rejects(
      openBackend({ dataDir }, { mode: 'read', purpose: 'report' }),
      (e: Error) => e instanceof TurnstreamError && /no turnstream data in .*nothing-here; run 'turnstream start'/.test(e.message),
    );
    await assert.rejects(
      openBackend({ dataDir }, { mode: 'read', purpose: 'replay' }),
      (e: Error) => e instanceof TurnstreamError && /no turnstream data in .*nothing-here: nothing to replay/.test(e.message),
    );
  });

  it('rebuildThreads (--rebuild-threads) reaches the rebuild: a start with no checkpoint on 100k+ events runs by shard on 2 threads, on one with 1', {
    timeout: 120_000,
  }, async () => {
    const dataDir = join(root, 'rebuild');
    const lines = Array.from({ length: 30 }, (_, s) => messyStream({ seed: 100 + s, sessions: 40 }).lines).flat();
    const first = await openBackend({ dataDir, checkpointEvery: 0 }, { mode: 'serve', prices: createPriceTable() });
    try {
      for (let i = 0; i < lines.length; i += 5000) await first.ingest.ingest(lines.slice(i, i + 5000), 'test');
      await first.settled();
    } finally {
      await first.close();
    }
    const totals: unknown[] = [];
    for (const threads of [1, 2]) {
      const copy = join(root, `rebuild-${threads}`);
      cpSync(dataDir, copy, { recursive: true });
      const logs: string[] = [];
      const logger = createLogger({ level: 'info', write: (line) => logs.push(String((JSON.parse(line) as { msg: unknown }).msg)) });
      const backend = await openBackend({ dataDir: copy, checkpointEvery: 0, rebuildThreads: threads }, { mode: 'serve', prices: createPriceTable(), logger });
      try {
        assert.ok(logs.includes('rebuilding open work from the start of the log'), logs.join(' | '));
        assert.equal(logs.includes('rebuilt open work from the start of the log by shard'), threads === 2, `${threads} thread(s): ${logs.join(' | ')}`);
        assert.ok(backend.processed() >= 100_000, `${backend.processed()} events`);
        totals.push(await backend.readers.state.totals('messy-100-0'));
      } finally {
        await backend.close();
      }
    }
    assert.deepEqual(totals[1], totals[0]);
  });
});
