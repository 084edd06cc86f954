import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OtlpTurnEncoder } from '../../src/exporters/otlp-turn-encoder.ts';
import { packSpanTurns, unpackSpanTurns } from '../../src/exporters/span-turn.ts';
import { turnSpanShapes } from '../../src/exporters/turn-span-shapes.ts';
import type { TurnAggregate } from '../../src/model/turn-aggregate.ts';
import { oddTurns } from '../helpers/odd-turns.ts';

/** What the span thread gets: the packing, through the structured clone a `postMessage` makes. */
const overTheWire = (turns: readonly TurnAggregate[]) => unpackSpanTurns(structuredClone(packSpanTurns(turns)));

describe('packSpanTurns / unpackSpanTurns: what the span thread is sent', () => {
  it('gives the span thread turns whose spans are exactly those of the aggregates (shapes and OTLP bytes)', () => {
    const encoder = new OtlpTurnEncoder({ serviceName: 'turnstream', version: '1' });
    let spans = 0;
    for (let seed = 1; seed <= 80; seed++) {
      const batch = oddTurns(seed, 1 + (seed % 9));
      const received = overTheWire(batch);
      assert.equal(received.length, batch.length);
      assert.deepEqual(received.map(turnSpanShapes), batch.map(turnSpanShapes), `seed ${seed}`);
      const expected = encoder.encode(batch);
      const actual = encoder.encode(received);
      assert.deepEqual(Buffer.from(actual.bytes), Buffer.from(expected.bytes), `seed ${seed}`);
      spans += actual.spans;
    }
    assert.ok(spans > 500, `the odd turns hold spans to compare (${spans})`);
  });

  it('keeps absent optional fields absent, and present ones as they were', () => {
    const [a] = oddTurns(3, 1);
    const bare: TurnAggregate = {
      ...a!,
      llm: [{ ...a!.llm[0]!, eventId: 'e1' }].map(({ finishReason: _, ...c }) => c),
      tools: [{ toolCallId: 'c1', toolName: 'Read', startMs: 5 }],
    };
    delete (bare as { agent?: string }).agent;
    delete (bare as { stopReason?: string }).stopReason;
    const [got] = overTheWire([bare]);
    assert.equal('agent' in got!, false);
    assert.equal('stopReason' in got!, false);
    assert.equal('finishReason' in got!.llm[0]!, false);
    assert.deepEqual(got!.tools, [{ toolCallId: 'c1', toolName: 'Read', startMs: 5 }]);
    const full: TurnAggregate = {
      ...bare,
      agent: 'kit',
      stopReason: 'end_turn',
      llm: [{ ...bare.llm[0]!, finishReason: 'stop' }],
      tools: [{ toolCallId: 'c1', toolName: 'Read', startMs: 5, endMs: 9, error: 'ENOENT' }],
    };
    const [back] = overTheWire([full]);
    assert.equal(back!.agent, 'kit');
    assert.equal(back!.stopReason, 'end_turn');
    assert.equal(back!.llm[0]!.finishReason, 'stop');
    assert.deepEqual(back!.tools, full.tools);
  });

  it('sends nothing of a turn its spans do not read (a revision carries its whole previous aggregate)', () => {
    const [a, b] = oddTurns(11, 2);
    const revision: TurnAggregate = { ...b!, supersedes: a! };
    assert.deepEqual(packSpanTurns([revision]), packSpanTurns([b!]));
  });

  it('refuses an array that is not a packing, saying where', () => {
    assert.throws(() => unpackSpanTurns(['s', 't']), /packed span turns end early \(at 2\)/);
    assert.throws(() => unpackSpanTurns([1]), /expected a string at 0, found number/);
    assert.deepEqual(unpackSpanTurns([]), []);
  });
});
