import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { LoggedEvent, StepEvent } from '../../src/events/step-event.ts';
import { createPriceTable } from '../../src/events/price-table.ts';
import type { AlertSink } from '../../src/exporters/alert-sinks.ts';
import { Processor } from '../../src/pipeline/processor.ts';
import { MemorySessionStateStore } from '../../src/state/memory-session-state-store.ts';
import { openEmbeddedStore } from '../../src/state/open-embedded-store.ts';
import type { BudgetAlert } from '../../src/streams/budget-rule.ts';
import { parseBudgetRules } from '../../src/streams/budget-rule.ts';

const T0 = Date.parse('2026-03-02T10:00:00Z');
const usage = (id: string, dt: number): StepEvent =>
  ({
    v: 1,
    id,
    type: 'llm.usage',
    session: 's1',
    turn: 't1',
    time: T0 + dt,
    timeMs: T0 + dt,
    provider: 'p',
    model: 'm',
    inputTokens: 1,
    outputTokens: 1,
    cost: 0.006,
  }) as unknown as StepEvent;

describe('Processor with budgets on an at-least-once log', () => {
  it('a repeated LLM call (same id) is neither counted twice in the turn nor in the budget', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'turnstream-proc-budget-'));
    const store = openEmbeddedStore({ dataDir: dir });
    try {
      const alerts: BudgetAlert[] = [];
      const sink: AlertSink = { send: (a) => void alerts.push(...a), forceFlush: async () => undefined, shutdown: async () => undefined };
      const processor = new Processor({
        state: new MemorySessionStateStore(),
        deadLetters: store.deadLetters,
        prices: createPriceTable(),
        dedupe: true,
        budgets: { rules: parseBudgetRules({ rules: [{ name: 'r', scope: 'session', hard: 0.01 }] }), sink },
      });
      await processor.restore();
      // 0.006 + (repeat of the same call) + nothing else: 0.006 < 0.01, so no alert; counting the
      // repeat would make it 0.012 and fire.
      const batch: LoggedEvent[] = [usage('c1', 0), usage('c1', 0)].map((event, i) => ({ pos: i + 1, event }));
      const effects = await processor.process(batch);
      assert.equal(alerts.length, 0, 'no alert');
      assert.deepEqual(
        effects.letters.map((l) => l.reason),
        ['duplicate'],
      );
      // A second, distinct call does cross: 0.012 ≥ 0.01.
      await processor.process([{ pos: 3, event: usage('c2', 1000) }]);
      assert.deepEqual(
        alerts.map((a) => [a.rule, a.level, a.status, a.pos]),
        [['r', 'hard', 'firing', 3]],
      );
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
