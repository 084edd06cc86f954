import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { abVerdict, pairOrder, type Side, type SideResult } from '../../bench/ab-summary.ts';

/** A pair's two results: `base` and `head` rates, the second process of the pair `bonus` × faster. */
function pair(first: Side, base: number, head: number, bonus: number): SideResult[] {
  const second: Side = first === 'base' ? 'head' : 'base';
  const rate = (s: Side) => (s === 'base' ? base : head) * (s === second ? bonus : 1);
  return [first, second].map((side) => ({ side, first, rates: [rate(side), rate(side)], cpuUsPerEvent: [1e6 / rate(side)] }));
}

describe('abVerdict: an interleaved A/B on a machine where the second run of a pair is faster', () => {
  it('alternates which side runs first', () => {
    assert.deepEqual(pairOrder(4), [
      ['base', 'head'],
      ['head', 'base'],
      ['base', 'head'],
      ['head', 'base'],
    ]);
  });

  it('cancels an order effect: equal code reads as equal overall, and each order shows the effect', () => {
    const results = pairOrder(6).flatMap(([first]) => pair(first, 50_000, 50_000, 1.1));
    const v = abVerdict(results);
    assert.equal(v.byOrder.length, 2);
    const baseFirst = v.byOrder.find((o) => o.first === 'base')!;
    const headFirst = v.byOrder.find((o) => o.first === 'head')!;
    assert.ok(Math.abs(baseFirst.rateChangePct - 10) < 1e-9, `base first: head looks 10 % faster (${baseFirst.rateChangePct})`);
    assert.ok(Math.abs(headFirst.rateChangePct + 100 / 11) < 1e-9, `head first: head looks ~9 % slower (${headFirst.rateChangePct})`);
    assert.ok(Math.abs(v.rateChangePct) < 0.5, `overall near 0 (${v.rateChangePct})`);
    assert.equal(baseFirst.headFaster, 3);
    assert.equal(headFirst.headFaster, 0);
  });

  it('finds a real difference through the order effect', () => {
    const results = pairOrder(6).flatMap(([first]) => pair(first, 50_000, 55_000, 1.1));
    const v = abVerdict(results);
    assert.ok(v.rateChangePct > 9 && v.rateChangePct < 11, `about +10 % (${v.rateChangePct})`);
    assert.ok(v.cpuChangePct < -8, `CPU per event lower (${v.cpuChangePct})`);
  });

  it('refuses results that are not pairs of one base and one head run', () => {
    const [a, b] = pair('base', 1, 1, 1);
    assert.throws(() => abVerdict([a!]), /come in pairs/);
    assert.throws(() => abVerdict([a!, a!]), /not one base and one head/);
    assert.doesNotThrow(() => abVerdict([a!, b!]));
  });
});
