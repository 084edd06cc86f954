import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openBackend } from '../../src/backend/open-backend.ts';
import { TurnstreamError } from '../../src/errors.ts';
import { createPriceTable } from '../../src/events/price-table.ts';
import { expectedTotals, generateStream, SESSIONS } from '../fixtures/agent-stream.ts';

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
});
