import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TurnAggregate } from '../../src/model/turn-aggregate.ts';
import { nonFinite, nonFiniteRecord } from '../../src/pipeline/screen-logged-event.ts';
import { turnRecord } from '../../src/model/turn-record.ts';
import { oddTurns } from '../helpers/odd-turns.ts';

describe('nonFiniteRecord: what a commit would store of its turns, checked before it is', () => {
  const clean = oddTurns(4, 3);

  it('finds a non-finite number in a stored field, at the path nonFinite gives for the records', () => {
    const bad: TurnAggregate[] = [clean[0]!, { ...clean[1]!, cost: Number.POSITIVE_INFINITY }];
    assert.equal(nonFiniteRecord(bad), 'a non-finite number (at 1.cost)');
    assert.equal(nonFiniteRecord(bad), nonFinite(bad.map(turnRecord)));
    const nested: TurnAggregate[] = [{ ...clean[0]!, models: [{ provider: 'p', model: 'm', calls: 1, ...clean[0]!, cost: Number.NaN }] }];
    assert.equal(nonFiniteRecord(nested), 'a non-finite number (at 0.models.0.cost)');
    assert.equal(nonFiniteRecord(nested), nonFinite(nested.map(turnRecord)));
  });

  it('does not walk what is not stored: the call lists and the previous revision', () => {
    const withLists: TurnAggregate = {
      ...clean[2]!,
      llm: [{ ...clean[2]!.llm[0]!, eventId: 'e', cost: Number.POSITIVE_INFINITY }],
      tools: [{ toolCallId: 'c', toolName: 'Read', startMs: Number.NaN }],
      supersedes: { ...clean[0]!, cost: Number.NaN },
    };
    assert.equal(nonFiniteRecord([withLists]), undefined);
    assert.equal(nonFiniteRecord(clean), undefined);
    assert.equal(nonFiniteRecord([]), undefined);
  });
});
