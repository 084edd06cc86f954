import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { LoggedEvent, StepEvent } from '../../src/events/step-event.ts';
import { createPriceTable } from '../../src/events/price-table.ts';
import { Processor } from '../../src/pipeline/processor.ts';
import { MemorySessionStateStore } from '../../src/state/memory-session-state-store.ts';
import { openEmbeddedStore } from '../../src/state/open-embedded-store.ts';

const T0 = Date.parse('2026-03-02T10:00:00Z');
const event = (i: number, type: string, extra: Record<string, unknown> = {}): StepEvent =>
  ({ v: 1, id: `e${i}`, type, session: `s${i % 3}`, turn: 't1', time: T0 + i, timeMs: T0 + i, ...extra }) as unknown as StepEvent;

/** Three sessions' turns: start, 30 LLM calls between them, end; 36 events in log order. */
function batch(): LoggedEvent[] {
  const events: StepEvent[] = [];
  let i = 0;
  for (; i < 3; i++) events.push(event(i, 'turn.start'));
  for (; i < 33; i++) events.push(event(i, 'llm.usage', { provider: 'p', model: 'm', inputTokens: i, outputTokens: 1, cost: 0.001 }));
  for (; i < 36; i++) events.push(event(i, 'turn.end', { stopReason: 'end_turn' }));
  return events.map((e, k) => ({ pos: k + 1, event: e }));
}

/**
 * A large batch is fed in slices with the event loop let in between (so ingest's appends are
 * answered and the log writer kept busy meanwhile), and still commits once, with the same effects.
 */
describe('Processor: a batch fed in slices', () => {
  async function run(feedSliceEvents: number): Promise<{ loopTurns: number; commits: number; aggregates: string }> {
    const dir = mkdtempSync(join(tmpdir(), 'turnstream-feed-slices-'));
    const store = openEmbeddedStore({ dataDir: dir });
    try {
      const state = new MemorySessionStateStore();
      let commits = 0;
      const commit = state.commit.bind(state);
      state.commit = (b) => {
        commits++;
        return commit(b);
      };
      const processor = new Processor({ state, deadLetters: store.deadLetters, prices: createPriceTable(), feedSliceEvents });
      await processor.restore();
      let done = false;
      let loopTurns = 0;
      const tick = (): void => {
        if (done) return;
        loopTurns++;
        setImmediate(tick);
      };
      setImmediate(tick);
      const effects = await processor.process(batch());
      done = true;
      const aggregates = JSON.stringify(effects.aggregates.map((a) => [a.session, a.turn, a.llmCalls, a.inputTokens, a.cost, a.closedAtPos]));
      return { loopTurns, commits, aggregates };
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('lets the event loop in every `feedSliceEvents` events, commits once, and gives the same aggregates', async () => {
    const whole = await run(1000);
    const sliced = await run(10);
    assert.equal(whole.commits, 1);
    assert.equal(sliced.commits, 1, 'one commit for the batch, sliced or not');
    // 36 events in slices of 10: three turns of the loop between them, beyond what the unsliced batch gives.
    assert.ok(sliced.loopTurns - whole.loopTurns >= 3, `event loop turns during the batch: ${sliced.loopTurns} sliced, ${whole.loopTurns} whole`);
    assert.equal(sliced.aggregates, whole.aggregates);
    assert.equal(JSON.parse(sliced.aggregates).length, 3, 'three turns closed');
  });
});
