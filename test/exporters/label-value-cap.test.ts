import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLabelValueCap } from '../../src/exporters/label-value-cap.ts';
import { LABEL_VALUE_OTHER } from '../../src/exporters/semconv.ts';

describe('createLabelValueCap', () => {
  it('keeps the first N distinct values of a label in first-seen order and folds later new ones into "other"', () => {
    const folded: string[] = [];
    const cap = createLabelValueCap({ maxValuesPerLabel: 3, onValueFolded: (l) => folded.push(l) });
    const model = cap.values('model');
    const seen = ['a', 'b', 'a', 'c', 'd', 'b', 'e', 'c'].map(model);
    assert.deepEqual(seen, ['a', 'b', 'a', 'c', LABEL_VALUE_OTHER, 'b', LABEL_VALUE_OTHER, 'c']);
    assert.deepEqual(folded, ['model', 'model'], 'one callback per folded recording');
    // A value literally named "other" is not a new value and costs no room.
    assert.equal(model(LABEL_VALUE_OTHER), LABEL_VALUE_OTHER);
    assert.equal(folded.length, 2);
  });

  it('caps each label name on its own, and the same function serves every metric for one name', () => {
    const cap = createLabelValueCap({ maxValuesPerLabel: 1 });
    assert.equal(cap.values('model')('m1'), 'm1');
    assert.equal(cap.values('agent')('a1'), 'a1');
    assert.equal(cap.values('model')('m2'), LABEL_VALUE_OTHER);
    assert.equal(cap.values('model')('m1'), 'm1');
  });

  it('is deterministic: the same sequence (a replay of the same log) folds the same values', () => {
    const names = Array.from({ length: 500 }, (_, i) => `model-${(i * 7919) % 313}`);
    const run = (): string[] => {
      const fold = createLabelValueCap({ maxValuesPerLabel: 50 }).values('model');
      return names.map(fold);
    };
    const first = run();
    assert.deepEqual(run(), first);
    assert.equal(new Set(first).size, 51, '50 values plus "other"');
  });

  it('admits the first M combinations of a family, with a per-family override, and reports the rest', () => {
    const folded: string[] = [];
    const cap = createLabelValueCap({ maxLabelSets: 2, onLabelSetFolded: (f) => folded.push(f) });
    const admit = cap.labelSets('model');
    assert.deepEqual(['x', 'y', 'x', 'z', 'y'].map(admit), [true, true, true, false, true]);
    const hist = cap.labelSets('histogram', 1);
    assert.deepEqual(['x', 'y', 'x'].map(hist), [true, false, true]);
    assert.deepEqual(folded, ['model', 'histogram']);
  });

  it('refuses a cap that is not a positive whole number', () => {
    assert.throws(() => createLabelValueCap({ maxValuesPerLabel: 0 }), /maxValuesPerLabel must be a positive integer/);
    assert.throws(() => createLabelValueCap({ maxLabelSets: 1.5 }), /maxLabelSets must be a positive integer/);
  });
});
