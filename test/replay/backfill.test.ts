import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createPriceTable } from '../../src/events/price-table.ts';
import { openEmbeddedPipeline } from '../../src/pipeline/open-embedded-pipeline.ts';
import { backfill } from '../../src/replay/backfill.ts';
import { compareCosts } from '../../src/replay/compare-costs.ts';
import { readReplayLogs } from '../../src/backend/read-replay-logs.ts';
import type { ReplayLogs } from '../../src/replay/open-replay-logs.ts';
import { replaySession } from '../../src/replay/replay-session.ts';
import { openEmbeddedStore, type EmbeddedStore } from '../../src/state/open-embedded-store.ts';
import type { TurnRecord } from '../../src/model/turn-record.ts';
import { exampleEvents } from './memory-log.ts';

const near = (actual: number | undefined, expected: number, what = ''): void =>
  assert.ok(actual !== undefined && Math.abs(actual - expected) < 1e-12, `${what} ${actual} ≠ ${expected}`);

/**
 * A price change, USD per million tokens, hand-applied to the examples:
 *   claude-sonnet-4-5  input 3 → 4, output 15 → 20, cache read 0.3 → 0.4, cache write (5m) 3.75 → 5
 *   (claude-haiku-4-5 and gpt-4o-mini unchanged; gpt-4o-mini's cost is the provider's anyway)
 * demo-1 turn-1: 1200×4 + 300×20 + 8000×0.4 + 2000×5 = 24000 µ$   (was 18000)
 *                 400×4 + 150×20 + 10000×0.4         =  8600 µ$   (was  6450)
 *                 100×4 + 420×20 + 10500×0.4         = 13000 µ$   (was  9750)
 *                 → 0.0456 (was 0.0342)
 * demo-1 turn-2: provider-reported 0.0021 either way
 * demo-2 a 0.002, b 0.0012: haiku, unchanged
 * demo-3 t1 (revision 1): 100×4 + 50×20 = 1400, 200×4 + 100×20 = 2800 → 0.0042 (was 0.00315)
 * demo-3 t2: no LLM call, 0
 * All: 0.04265 → 0.0551.
 */
const NEW_PRICES = createPriceTable({
  overrides: { anthropic: { 'claude-sonnet-4-5': { input: 4, output: 20, cacheRead: 0.4, cacheWrite5m: 5, cacheWrite1h: 8 } } },
});

describe('re-pricing', () => {
  let dataDir: string;
  let store: EmbeddedStore;
  let logs: ReplayLogs;
  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'turnstream-reprice-'));
    const p = await openEmbeddedPipeline({ dataDir, prices: createPriceTable() });
    await p.ingestor.ingest(exampleEvents('coding-session', 'concurrent-turns', 'messy-delivery'), 'test');
    await p.close();
    store = openEmbeddedStore({ dataDir });
    logs = await readReplayLogs({ dataDir });
  });
  after(async () => {
    await logs.close();
    store.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("one session: each turn's recorded cost next to its re-priced cost, exactly as hand-computed", async () => {
    const r = await replaySession({ log: store.log, session: 'demo-1', prices: NEW_PRICES });
    const c = compareCosts(r.turns, await store.state.turns('demo-1'));
    assert.deepEqual(
      c.turns.map((t) => t.turn),
      ['turn-1', 'turn-2'],
    );
    near(c.turns[0]!.oldCost, 0.0342, 'turn-1 old');
    near(c.turns[0]!.newCost, 0.0456, 'turn-1 new');
    near(c.turns[1]!.oldCost, 0.0021, 'turn-2 old');
    near(c.turns[1]!.newCost, 0.0021, 'turn-2 new');
    near(c.oldCost, 0.0363);
    near(c.newCost, 0.0477);
    near(r.totals?.cost, 0.0477, 'totals re-priced too');
    assert.deepEqual(
      c.models.map((m) => [m.provider, m.model, m.calls]),
      [
        ['anthropic', 'claude-sonnet-4-5', 3],
        ['openai', 'gpt-4o-mini', 1],
      ],
    );
    near(c.models[0]!.oldCost, 0.0342);
    near(c.models[0]!.newCost, 0.0456);
    // The per-call detail is re-priced call by call.
    assert.deepEqual(
      r.turns[0]!.llm.map((x) => Math.round(x.cost * 1e6)),
      [24000, 8600, 13000],
    );
    assert.equal(c.matched, 2);
    assert.equal(c.unmatched, 0);
  });

  it('a turn compares only with the record of the same revision', () => {
    const rec = (revision: number, cost: number) => ({ session: 's', turn: 't', revision, cost, models: [] }) as unknown as TurnRecord;
    const c = compareCosts([rec(0, 2)], [rec(1, 1)]);
    assert.deepEqual([c.turns[0]!.oldCost, c.matched, c.unmatched, c.unmatchedNewCost, c.oldCost, c.newCost], [undefined, 0, 1, 2, 0, 0]);
  });

  it('backfill: every turn started in [from, to) re-priced and written, with a summary by model and session', async () => {
    const written: TurnRecord[] = [];
    const progress: number[] = [];
    const summary = await backfill({
      logs: await logs.all(),
      prices: NEW_PRICES,
      fromMs: Date.parse('2026-03-02T10:00:30Z'),
      toMs: Date.parse('2026-03-02T12:00:05Z'),
      recorded: (s) => store.state.turns(s),
      write: (t) => void written.push(t),
      onProgress: (p) => void progress.push(p.done / p.total),
    });
    assert.deepEqual(
      written.map((t) => `${t.session}/${t.turn}`),
      ['demo-1/turn-2', 'demo-2/a', 'demo-2/b', 'demo-3/t1'],
      'by start time: 10:01:00, 11:00:00, 11:00:01, 12:00:01',
    );
    assert.deepEqual(Object.keys(written[3]!).sort(), Object.keys((await store.state.turns('demo-3'))[0]!).sort(), 'written as the store keeps turns');
    near(written[3]!.cost, 0.0042, 'demo-3 t1');
    assert.equal(written[3]!.revision, 1);
    assert.equal(summary.turns, 4);
    assert.equal(summary.events, 42);
    near(summary.oldCost, 0.0021 + 0.002 + 0.0012 + 0.00315);
    near(summary.newCost, 0.0021 + 0.002 + 0.0012 + 0.0042);
    assert.deepEqual(
      summary.sessions.map((s) => [s.session, s.turns]),
      [
        ['demo-3', 1],
        ['demo-1', 1],
        ['demo-2', 2],
      ],
      'largest change first',
    );
    assert.equal(summary.unmatched, 0);
    assert.equal(progress.at(-1), 1);
  });

  it('backfill of the whole log: 0.04265 recorded → 0.0551 re-priced; per model as hand-computed', async () => {
    const summary = await backfill({ logs: await logs.all(), prices: NEW_PRICES, recorded: (s) => store.state.turns(s) });
    assert.equal(summary.turns, 6);
    near(summary.oldCost, 0.04265);
    near(summary.newCost, 0.0551);
    const sonnet = summary.models.find((m) => m.model === 'claude-sonnet-4-5');
    near(sonnet?.oldCost, 0.0342 + 0.00315);
    near(sonnet?.newCost, 0.0456 + 0.0042);
    assert.equal(sonnet?.calls, 5);
  });

  it('backfill with the same prices changes nothing', async () => {
    const summary = await backfill({ logs: await logs.all(), prices: createPriceTable(), recorded: (s) => store.state.turns(s) });
    near(summary.newCost, summary.oldCost);
    assert.equal(summary.matched, 6);
  });
});
