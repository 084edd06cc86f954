import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { jsonBytes, jsonPieces } from '../../src/pipeline/json-pieces.ts';
import { advance, drain } from '../../src/pipeline/steps.ts';

/** A pseudo-random JSON-able value (seeded): nested arrays and objects, long and short, odd members. */
function value(seed: number, depth = 0): unknown {
  let s = seed;
  const rnd = () => {
    s = (s * 1_103_515_245 + 12_345) % 2 ** 31;
    return s / 2 ** 31;
  };
  const leaf = (): unknown =>
    [0, -0, 1.5e300, -7, 'é"\\\n\u2028', '', true, false, null, undefined, Number.NaN, Number.POSITIVE_INFINITY][Math.floor(rnd() * 12)];
  const make = (d: number): unknown => {
    const r = rnd();
    if (d > 3 || r < 0.3) return leaf();
    if (r < 0.65) return Array.from({ length: Math.floor(rnd() * (d < 2 && rnd() < 0.2 ? 300 : 8)) }, () => make(d + 1));
    const o: Record<string, unknown> = {};
    for (let i = Math.floor(rnd() * 6); i > 0; i--) o[`k${Math.floor(rnd() * 9)}"`] = make(d + 1);
    if (rnd() < 0.2) o['buf'] = Buffer.from('ab'); // toJSON: written by JSON.stringify, not split
    if (rnd() < 0.2) o['fn'] = () => 1; // no JSON form: left out (null in an array)
    return o;
  };
  return make(depth);
}

describe('jsonPieces: JSON.stringify in pieces', () => {
  it('the pieces concatenate to exactly JSON.stringify, for many shapes and piece sizes', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const v = { top: value(seed), list: [value(seed + 1000), undefined, () => 2], n: seed };
      for (const size of [1, 50, 64 * 1024]) assert.equal([...jsonPieces(v, size)].join(''), JSON.stringify(v), `seed ${seed}, pieces of ${size}`);
    }
  });

  it('a checkpoint-like document (thousands of held turns) comes in many pieces of about the size asked', () => {
    const turn = (i: number) => [`sess_${i % 97}`, `turn-${i}`, 1_793_491_397_699 + i, null, -1, [i, 'x'.repeat(900), [[1, 2, 'id']]]];
    const doc = {
      settings: 's',
      work: { windows: { v: 2, held: { wm: 1, sessions: [['a', null]], turns: Array.from({ length: 5000 }, (_, i) => turn(i)) } }, poisoned: [] },
    };
    const pieces = [...jsonPieces(doc, 64 * 1024)];
    const whole = JSON.stringify(doc);
    assert.equal(pieces.join(''), whole);
    assert.ok(pieces.length >= Math.floor(whole.length / (64 * 1024)), `${pieces.length} pieces for ${whole.length} chars`);
    assert.ok(Math.max(...pieces.map((p) => p.length)) < 64 * 1024 + 2_000, 'no piece much over the size asked');
  });

  it('never cuts a surrogate pair: each piece is valid UTF-16 on its own, so its UTF-8 bytes concatenate to those of the whole', () => {
    const doc = { list: Array.from({ length: 3000 }, (_, i) => ['😀'.repeat(1 + (i % 5)), i, 'é中'.repeat(i % 3)]), tail: '🎉' };
    const whole = Buffer.from(JSON.stringify(doc));
    for (const size of [1, 2, 3, 7, 50, 1001, 64 * 1024]) {
      const pieces = [...jsonPieces(doc, size)];
      for (const p of pieces) assert.equal(Buffer.from(p).toString(), p, `a piece of ${size} chars cut a pair`);
      assert.deepEqual(Buffer.concat(pieces.map((p) => Buffer.from(p))), whole, `pieces of ${size}`);
      assert.ok(
        pieces.slice(0, -1).every((p) => p.length === size || p.length === size + 1),
        `pieces of ${size} chars (one more at a pair)`,
      );
    }
  });

  it('jsonBytes yields between pieces and returns the UTF-8 of the whole', () => {
    const doc = { a: Array.from({ length: 3000 }, (_, i) => ({ i, t: 'é'.repeat(40) })) };
    const steps = jsonBytes(doc);
    let yields = 0;
    for (let r = steps.next(); ; r = steps.next()) {
      if (r.done === true) {
        assert.deepEqual(r.value, Buffer.from(JSON.stringify(doc)));
        break;
      }
      yields++;
    }
    assert.ok(yields > 1, `${yields} yields`);
    assert.deepEqual(drain(jsonBytes([])), Buffer.from('[]'));
  });

  it('advance stops at the deadline and goes on from there; drain runs to the end', () => {
    function* work() {
      let n = 0;
      for (let i = 0; i < 5; i++) {
        n += i;
        yield;
      }
      return n;
    }
    const w = work();
    let calls = 0;
    let done: { value: number } | undefined;
    while (done === undefined) {
      done = advance(w, 0); // deadline passed: one step per call
      calls++;
    }
    assert.equal(done.value, 10);
    assert.equal(calls, 6, 'five yields, then the return');
    assert.equal(advance(work(), Number.POSITIVE_INFINITY)?.value, 10);
    assert.equal(drain(work()), 10);
  });
});
