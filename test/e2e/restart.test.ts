import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { post, startPipeline } from '../helpers/running-pipeline.ts';

const lines = (name: string): string[] =>
  readFileSync(new URL(`../../examples/${name}.ndjson`, import.meta.url), 'utf8')
    .trim()
    .split('\n');
const close = (actual: number | undefined, expected: number): void => assert.ok(Math.abs((actual ?? NaN) - expected) < 1e-9, `${actual} ≠ ${expected}`);

describe('restart on the same data dir', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'turnstream-restart-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('keeps totals, turns and state, and counts nothing twice when the source re-sends everything', async () => {
    const first = await startPipeline({ dataDir });
    await post(first.url, lines('coding-session').join('\n'));
    await first.settle();
    const totalsBefore = await first.pipeline.store.state.totals('demo-1');
    const turnsBefore = await first.pipeline.store.state.turns('demo-1');
    await first.stop();

    const second = await startPipeline({ dataDir });
    assert.deepEqual(await second.pipeline.store.state.totals('demo-1'), totalsBefore);
    assert.deepEqual(await second.pipeline.store.state.turns('demo-1'), turnsBefore);
    assert.deepEqual(await second.pipeline.store.state.list('demo-1'), { branch: 'fix-login' });
    // At-least-once delivery: the whole file again is all duplicates.
    const again = await post(second.url, lines('coding-session').join('\n'));
    assert.equal(again.json['duplicate'], 19);
    await second.settle();
    const totals = await second.pipeline.store.state.totals('demo-1');
    assert.equal(totals?.turns, 2);
    close(totals?.cost, 0.0363);
    // Nothing re-exported: the rebuilt windows' effects were already committed before the restart.
    assert.equal(second.spans.getFinishedSpans().length, 0);
    await second.stop();
  });

  it('finishes turns that were open across the restart (windows rebuilt from the log)', async () => {
    const concurrent = lines('concurrent-turns');
    const first = await startPipeline({ dataDir });
    await post(first.url, concurrent.slice(0, 6).join('\n')); // both turns open, mid-way
    await first.settle();
    assert.deepEqual(await first.pipeline.store.state.turns('demo-2'), []);
    await first.stop();

    const second = await startPipeline({ dataDir });
    await post(second.url, concurrent.slice(6).join('\n'));
    await second.settle();
    const turns = await second.pipeline.store.state.turns('demo-2');
    const a = turns.find((t) => t.turn === 'a');
    const b = turns.find((t) => t.turn === 'b');
    // Same hand-computed values as in one uninterrupted run (see examples.test.ts).
    assert.deepEqual(a?.toolNames, ['lookup_order']);
    assert.deepEqual(b?.toolNames, ['search_kb']);
    close(a?.cost, 0.002);
    close(b?.cost, 0.0012);
    assert.equal(a?.durationMs, 7000);
    assert.equal(b?.llmCalls, 2);
    const totals = await second.pipeline.store.state.totals('demo-2');
    assert.equal(totals?.turns, 2);
    assert.equal(totals?.llmCalls, 3);
    // Only the two turns closed after the restart were exported: 2 roots + 3 chats + 2 tools.
    assert.equal(second.spans.getFinishedSpans().length, 7);
    await second.stop();
  });
});
