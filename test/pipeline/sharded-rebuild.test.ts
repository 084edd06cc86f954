import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseLoggedEvent } from '../../src/events/parse-logged-event.ts';
import { createPriceTable } from '../../src/events/price-table.ts';
import { createLogger } from '../../src/logger.ts';
import type { TurnAggregate } from '../../src/model/turn-aggregate.ts';
import { openEmbeddedPipeline, type EmbeddedPipelineOptions } from '../../src/pipeline/open-embedded-pipeline.ts';
import { openEmbeddedStore } from '../../src/state/open-embedded-store.ts';
import { shardedRebuild, type ShardedRebuildOptions } from '../../src/pipeline/sharded-rebuild.ts';
import { MESSY_T0, MESSY_WINDOWS, messyStream } from '../replay/messy-stream.ts';
import { storeView } from '../helpers/store-view.ts';

const prices = createPriceTable();

/** Several messy streams (late events, revisions, idle and session.end closes, re-sent ids), one after the other in the log. */
const LINES = [21, 22, 23, 24].flatMap((seed) => messyStream({ seed, sessions: 10 }).lines);
/** Where the first run stops: the restart rebuilds the open work as of here, then takes the rest. */
const CUT = Math.floor(LINES.length * 0.7);

interface Run {
  readonly aggregates: TurnAggregate[];
  readonly logs: Record<string, unknown>[];
}

async function open(dataDir: string, run: Run, extra: Partial<EmbeddedPipelineOptions> = {}) {
  const logger = createLogger({ level: 'debug', write: (line) => run.logs.push(JSON.parse(line) as Record<string, unknown>) });
  return openEmbeddedPipeline({ dataDir, prices, logger, onAggregate: (a) => run.aggregates.push(a), ...MESSY_WINDOWS, ...extra });
}

async function ingest(pipeline: Awaited<ReturnType<typeof open>>, lines: readonly string[]): Promise<void> {
  for (let i = 0; i < lines.length; i += 97) await pipeline.ingestor.ingest(lines.slice(i, i + 97), 'file:messy.ndjson');
  await pipeline.pump.idle();
  assert.equal(pipeline.pump.failure, undefined);
}

const byShard = (run: Run) => run.logs.find((l) => l['msg'] === 'rebuilt open work from the start of the log by shard');

describe('a restart with no checkpoint rebuilds the open work by shard on several threads, exactly as on one', { timeout: 240_000 }, () => {
  let root: string;
  let base: string;
  let ref: { aggregates: TurnAggregate[]; view: Awaited<ReturnType<typeof storeView>> };
  let first: Run;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'turnstream-sharded-'));
    // The reference: the whole stream, uninterrupted.
    const r: Run = { aggregates: [], logs: [] };
    const p = await open(join(root, 'ref'), r, { checkpoints: { everyEvents: 0 } });
    await ingest(p, LINES);
    ref = { aggregates: r.aggregates, view: await storeView(p) };
    await p.close();
    // The log every variant restarts from: the stream up to the cut, processed, and no checkpoint.
    base = join(root, 'base');
    first = { aggregates: [], logs: [] };
    const b = await open(base, first, { checkpoints: { everyEvents: 0 } });
    await ingest(b, LINES.slice(0, CUT));
    await b.close();
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  /** Restarts a copy of `base`; returns the open work it rebuilt (as the checkpoint that records it) and the rest of the run. */
  async function restart(name: string, rebuild: NonNullable<EmbeddedPipelineOptions['rebuild']>, from = base) {
    const dir = join(root, name);
    cpSync(from, dir, { recursive: true });
    const run: Run = { aggregates: [], logs: [] };
    const p = await open(dir, run, { rebuild });
    try {
      assert.equal(p.processor.resumeFrom, p.processor.committedPosition, 'caught up to the committed position');
      await p.processor.checkpointNow();
      const checkpoint = await p.store.state.checkpoint();
      assert.ok(checkpoint !== undefined, 'the open work was checkpointed');
      await ingest(p, LINES.slice(CUT));
      return { run, checkpoint: Buffer.from(checkpoint.data), view: await storeView(p) };
    } finally {
      await p.close();
    }
  }

  it('2 and 3 threads: the same open work, byte for byte, as one thread; then the same aggregates and store as an uninterrupted run', async () => {
    const one = await restart('one', { threads: 1 });
    assert.equal(byShard(one.run), undefined, 'one thread: no shards');
    for (const threads of [2, 3]) {
      const sharded = await restart(`threads-${threads}`, { threads, minEvents: 0 });
      const line = byShard(sharded.run);
      assert.ok(line !== undefined, `${threads} threads: the rebuild ran by shard (${sharded.run.logs.map((l) => l['msg']).join(' | ')})`);
      assert.equal(line['threads'], threads);
      const events = line['events'] as number[];
      assert.equal(events.length, threads);
      assert.ok(
        events.every((n) => n > 0),
        `every shard had sessions: ${events}`,
      );
      assert.ok(sharded.checkpoint.equals(one.checkpoint), `${threads} threads: the rebuilt open work is the one-thread rebuild's`);
      assert.deepEqual([...first.aggregates, ...sharded.run.aggregates], ref.aggregates, `${threads} threads: the same aggregates, in the same order`);
      assert.deepEqual(sharded.view, ref.view, `${threads} threads: the same store`);
    }
    assert.deepEqual([...first.aggregates, ...one.run.aggregates], ref.aggregates);
  });

  it('below minEvents it stays on one thread, with a debug line saying why', async () => {
    const small = await restart('small', { threads: 2, minEvents: 10 * LINES.length });
    assert.equal(byShard(small.run), undefined);
    const why = small.run.logs.find((l) => l['msg'] === 'rebuild on one thread');
    assert.match(String(why?.['reason']), /fewer than a second thread pays for/);
  });

  it('an event the shards cannot reproduce (dead-lettered, with an event time) makes it rebuild on one thread: still exact', async () => {
    // Logged by an older writer (the decoder refuses it now): an amount beyond what can be summed. It made a clock tick.
    const dir = join(root, 'poisoned-base');
    cpSync(base, dir, { recursive: true });
    const store = openEmbeddedStore({ dataDir: dir, writable: true });
    const raw = JSON.stringify({
      v: 1,
      id: 'too-big',
      type: 'llm.usage',
      session: 'messy-21-0',
      turn: 'late-turn',
      time: MESSY_T0 + 3_600_000,
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
      inputTokens: 1e16,
    });
    store.log.appendSync([{ event: parseLoggedEvent(raw), raw }]);
    store.close();
    // Processed once (dead-lettered), so it is at or below the committed position; no checkpoint.
    const p = await open(dir, { aggregates: [], logs: [] }, { checkpoints: { everyEvents: 0 } });
    await p.pump.idle();
    await p.close();
    const one = await restart('poisoned-one', { threads: 1 }, dir);
    const two = await restart('poisoned-two', { threads: 2, minEvents: 0 }, dir);
    const failed = two.run.logs.find((l) => l['msg'] === 'the rebuild by shard failed; rebuilding on one thread');
    assert.match(String(failed?.['reason']), /is dead-lettered .* and has an event time/);
    assert.equal(byShard(two.run), undefined);
    console.log('DBG', one.checkpoint.length, two.checkpoint.length, JSON.stringify(two.run.logs.map((l) => l['msg'])), JSON.stringify(byShard(two.run)));
    assert.ok(two.checkpoint.equals(one.checkpoint));
    assert.deepEqual(two.run.aggregates, one.run.aggregates);
    assert.deepEqual(two.view, one.view);
  });

  it('says why it does not apply (and the processor then rebuilds on one thread): dedupe, budgets, a caller’s price table, a sweep not in whole ticks', async () => {
    const store = openEmbeddedStore({ dataDir: base });
    try {
      const through = await store.state.position();
      const cases: [Partial<ShardedRebuildOptions>, RegExp][] = [
        [{ threads: 1 }, /one thread/],
        [{ dedupe: true }, /dedupe step is on/],
        [{ budgetRules: 2 }, /budget rules sum across sessions/],
        [{ prices: { lookup: prices.lookup } }, /price table cannot be given to a thread/],
        [{ windows: { ...MESSY_WINDOWS, sweepIntervalMs: 1500 } }, /sweep interval \(1500 ms\) is not a whole number of clock ticks/],
      ];
      for (const [extra, reason] of cases) {
        const logs: Record<string, unknown>[] = [];
        const logger = createLogger({ level: 'debug', write: (line) => logs.push(JSON.parse(line) as Record<string, unknown>) });
        const o = { dataDir: base, log: store.log, state: store.state, prices, windows: MESSY_WINDOWS, threads: 2, minEvents: 0, logger, ...extra };
        assert.equal(await shardedRebuild(o, through), undefined);
        assert.match(String(logs.find((l) => l['msg'] === 'rebuild on one thread')?.['reason']), reason);
      }
    } finally {
      store.close();
    }
  });

  it('a shard whose thread fails is a failed rebuild by shard, logged with the reason, not a failed start', async () => {
    const store = openEmbeddedStore({ dataDir: base });
    try {
      const logs: Record<string, unknown>[] = [];
      const logger = createLogger({ level: 'debug', write: (line) => logs.push(JSON.parse(line) as Record<string, unknown>) });
      const o = { dataDir: join(root, 'no-such-dir'), log: store.log, state: store.state, prices, windows: MESSY_WINDOWS, threads: 2, minEvents: 0, logger };
      assert.equal(await shardedRebuild(o, await store.state.position()), undefined);
      const failed = logs.find((l) => l['msg'] === 'the rebuild by shard failed; rebuilding on one thread');
      assert.equal(failed?.['shard'], 1);
      assert.ok(String(failed?.['reason']).length > 0);
    } finally {
      store.close();
    }
  });
});
