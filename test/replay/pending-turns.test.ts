import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeadLetter } from '../../src/events/reject-reason.ts';
import { PendingTurns } from '../../src/replay/pending-turns.ts';
import type { TurnAggregate } from '../../src/model/turn-aggregate.ts';
import { llmUsage, sessionStart, turnEnd, turnStart } from '../streams/make-events.ts';

const closed = (turn: string, closedAtPos: number, session = 's1') => ({ session, turn, closedAtPos }) as TurnAggregate;
const late = (eventId: string, session = 's1'): DeadLetter => ({ reason: 'late', message: '', raw: '', source: 'pipeline', session, eventId, at: 0 });
const usage = (id: string, pos: number, at: number, turn = 't1') =>
  llmUsage({ id, pos, at, turn, provider: 'anthropic', model: 'claude-haiku-4-5', inputTokens: 1, outputTokens: 1 });

describe('PendingTurns', () => {
  it('a turn is open from its first event until an aggregate covers its last one', () => {
    const p = new PendingTurns('s1');
    p.fed(sessionStart({ id: 'a', at: 0, pos: 1 }));
    assert.equal(p.any, false, 'session events open no turn');
    p.fed(turnStart({ id: 'b', at: 0, pos: 2 }));
    p.fed(usage('c', 3, 500));
    p.fed(turnStart({ id: 'x', at: 600, pos: 4, session: 's2' }));
    assert.deepEqual(
      p.open().map((t) => [t.turn, t.events, t.lastMs - t.firstMs]),
      [['t1', 2, 500]],
    );
    p.processed([closed('t1', 3), closed('t1', 9, 's2')], []);
    assert.equal(p.any, false);
  });

  it('an event for a closed turn is pending until its revision (or new window) is emitted', () => {
    const p = new PendingTurns('s1');
    p.fed(turnEnd({ id: 'a', at: 0, pos: 1 }));
    p.processed([closed('t1', 1)], []);
    p.fed(usage('b', 5, 10));
    assert.deepEqual(
      p.open().map((t) => [t.turn, t.events]),
      [['t1', 1]],
      'counts restart after a close',
    );
    p.processed([closed('t1', 5)], []);
    assert.equal(p.any, false);
  });

  it('a late event opens nothing; an earlier late letter with another id does not close a pending turn', () => {
    const p = new PendingTurns('s1');
    p.fed(usage('old', 1, 0));
    p.processed([], [late('old')]);
    assert.equal(p.any, false);
    p.fed(usage('new', 2, 100, 't2'));
    p.processed([], [late('old'), late('new', 's9')]);
    assert.deepEqual(
      p.open().map((t) => t.turn),
      ['t2'],
    );
  });
});
