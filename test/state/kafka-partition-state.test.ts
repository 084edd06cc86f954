import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { toStoredTurn, type TurnRecord } from '../../src/model/turn-record.ts';
import { TurnIndex } from '../../src/state/turn-index.ts';
import { KafkaPartitionState } from '../../src/state/kafka-partition-state.ts';
import { SEP, turnHeaders, type StoredRecord } from '../../src/state/kafka-state-records.ts';

/** A turn record as the store writes it (only the fields the view reads matter; the rest must round-trip). */
function record(session: string, turn: string, revision: number, closedAtPos: number): TurnRecord {
  return {
    session,
    turn,
    revision,
    status: 'completed',
    startMs: 1_000 * revision + turn.length,
    endMs: 2_000 * revision,
    durationMs: 1_000 * revision,
    toolCalls: revision,
    toolNames: ['Read'],
    llmCalls: 1,
    inputTokens: 10 * revision,
    outputTokens: 5,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    reasoningTokens: 0,
    cost: 0.01 * revision,
    errors: 0,
    models: ['claude-sonnet-4-5'],
    firstEventId: `${turn}-first`,
    lastEventId: `${turn}-last`,
    eventCount: 3,
    closedAtPos,
  } as unknown as TurnRecord;
}

/** The turns-topic record of `t`, as this version writes it (with headers) or as an older one did (without). */
const stored = (t: TurnRecord, withHeaders: boolean): StoredRecord => ({
  key: `${t.session}${SEP}${t.turn}`,
  value: Buffer.from(JSON.stringify(toStoredTurn(t))),
  ...(withHeaders ? { headers: Object.fromEntries(Object.entries(turnHeaders(t)).map(([k, v]) => [k, Buffer.from(v)])) } : {}),
});

describe('KafkaPartitionState: turn records', () => {
  const turns = [record('s1', 't1', 1, 10), record('s1', 't1', 3, 30), record('s1', 't1', 2, 20), record('s1', 't2', 1, 12), record('s2', 't1', 1, 15)];
  const latest = [record('s1', 't1', 3, 30), record('s1', 't2', 1, 12)];

  for (const withHeaders of [true, false]) {
    it(`${withHeaders ? 'with revision headers (kept as text until read)' : 'without headers (an older writer: parsed when applied)'}: the latest revision wins whatever the order, lateness and reads agree`, () => {
      const part = new KafkaPartitionState();
      for (const t of turns) part.applyTurnRecord(stored(t, withHeaders));
      const held = part.turns.get('s1')!.get('t1')!;
      assert.equal(held.revision, 3);
      assert.equal(held.closedAtPos, 30);
      assert.equal(held.record === undefined, withHeaders, withHeaders ? 'not parsed before it is read' : 'parsed');
      const read = part.turnRecords('s1').sort((a, b) => (a.turn < b.turn ? -1 : 1));
      assert.deepEqual(read, latest);
      assert.deepEqual(part.turnRecords('nobody'), []);
      assert.equal(part.sizes().turns, 3);
    });
  }

  it('`only` keeps one session; a record applied by the writer itself (applyTurn) and a stored one of a lower revision do not replace it', () => {
    const part = new KafkaPartitionState();
    for (const t of turns) part.applyTurnRecord(stored(t, true), 's2');
    assert.deepEqual([...part.turns.keys()], ['s2']);
    part.applyTurn(record('s2', 't1', 5, 50));
    part.applyTurnRecord(stored(record('s2', 't1', 4, 40), true));
    assert.equal(part.turns.get('s2')!.get('t1')!.closedAtPos, 50);
    assert.deepEqual(part.turnRecords('s2'), [record('s2', 't1', 5, 50)]);
  });

  for (const withHeaders of [true, false]) {
    it(`with a TurnIndex (a pipeline's view), ${withHeaders ? 'with' : 'without'} headers: only revisions and closedAtPos, off the heap, with the same lateness answers`, () => {
      const index = new TurnIndex();
      try {
        const part = new KafkaPartitionState(index, 4);
        const other = new KafkaPartitionState(index, 5);
        for (const t of turns) part.applyTurnRecord(stored(t, withHeaders));
        other.applyTurn(record('s9', 't1', 0, 7));
        assert.equal(part.turns.size, 0, 'no record is held in memory');
        assert.equal(part.keepsTurnRecords, false);
        assert.equal(part.closedTurnAt('s1', 't1'), 30, 'the latest revision, whatever the order');
        assert.equal(part.closedTurnAt('s1', 't2'), 12);
        assert.equal(part.closedTurnAt('s1', 'nope'), undefined);
        part.applyTurn(record('s1', 't1', 2, 99)); // an older revision: no change
        assert.equal(part.closedTurnAt('s1', 't1'), 30);
        part.applyTurn(record('s1', 't1', 3, 31)); // the same revision again replaces (as the in-memory hold does)
        assert.equal(part.closedTurnAt('s1', 't1'), 31);
        assert.deepEqual([part.sizes().turns, other.sizes().turns], [3, 1], 'counted per partition');
        assert.throws(() => part.turnRecords('s1'), /keeps no turn records/);
        index.batch(() => {
          index.drop(4);
          index.batch(() => index.put(5, 's9', 't2', 0, 8)); // nested: one transaction
        });
        assert.deepEqual([part.sizes().turns, other.sizes().turns], [0, 2], 'a dropped partition is forgotten, the other kept');
        assert.equal(part.closedTurnAt('s1', 't1'), undefined);
      } finally {
        index.close();
      }
    });
  }
});
