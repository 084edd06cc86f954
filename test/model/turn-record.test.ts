import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Subject } from 'rxjs';
import { createPriceTable } from '../../src/events/price-table.ts';
import { priceUsage } from '../../src/events/price-usage.ts';
import type { LoggedEvent } from '../../src/events/step-event.ts';
import type { TurnAggregate } from '../../src/model/turn-aggregate.ts';
import { fromStoredTurn, storedTurnOf, toStoredTurn, turnRecord } from '../../src/model/turn-record.ts';
import { windowTurns } from '../../src/streams/window-turns.ts';
import { randomStream } from '../streams/random-stream.ts';

const table = createPriceTable();

describe('storedTurnOf', () => {
  it('gives the same JSON text as toStoredTurn(turnRecord(a)), and reads back as turnRecord(a)', () => {
    const aggregates: TurnAggregate[] = [];
    const input = new Subject<LoggedEvent>();
    input
      .pipe(windowTurns({ turnIdleTimeoutMs: 20_000, graceMs: 10_000, sweepIntervalMs: 1_000, price: (u) => priceUsage(u, table) }))
      .subscribe((o) => o.kind === 'turn' && aggregates.push(o.aggregate));
    for (let seed = 1; seed <= 6; seed++) for (const e of randomStream(seed, { sessions: 14, idleMs: 20_000, graceMs: 10_000 })) input.next(e);
    assert.ok(aggregates.length > 100 && aggregates.some((a) => a.supersedes !== undefined && a.agent !== undefined && a.stopReason !== undefined));
    for (const a of aggregates) {
      const text = JSON.stringify(storedTurnOf(a));
      assert.equal(text, JSON.stringify(toStoredTurn(turnRecord(a))));
      assert.deepEqual(fromStoredTurn(JSON.parse(text)), turnRecord(a));
    }
  });
});
