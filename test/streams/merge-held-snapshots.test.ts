import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HeldTurnsSnapshot } from '../../src/streams/held-turns.ts';
import { mergeHeldSnapshots, mergeWindowsSnapshots } from '../../src/streams/merge-held-snapshots.ts';
import type { WindowsSnapshot } from '../../src/streams/window-turns.ts';

type Part = HeldTurnsSnapshot<string>;

/** A shard's snapshot: sessions `[id, createdAt]`, turns `[session, turn, heldAt, body]`. */
function part(wm: number | null, sessions: [string, number][], turns: [string, string, number, string][], clock = 5000): Part {
  return {
    wm,
    bucket: clock / 5000,
    clock,
    sessions: sessions.map(([id]) => [id, null, null, 1, clock]),
    turns: turns.map(([s, t, , body]) => [s, t, 1, clock, null, null, -1, body]),
    order: { sessions: sessions.map(([, at]) => at), turns: turns.map(([, , at]) => at) },
  };
}

describe('mergeHeldSnapshots: shards of one log → the snapshot of one run', () => {
  it('sessions and turns in the order they were made, the largest watermark, the stand-in session left out', () => {
    const a = part(
      1200,
      [
        ['a', 1],
        ['', 2],
        ['c', 7],
      ],
      [
        ['a', 't1', 1, 'A1'],
        ['c', 't1', 8, 'C1'],
        ['a', 't2', 9, 'A2'],
      ],
    );
    const b = part(
      1450,
      [
        ['b', 3],
        ['', 1],
      ],
      [
        ['b', 't1', 4, 'B1'],
        ['b', 't2', 12, 'B2'],
      ],
    );
    const seen: [string, number][] = [];
    const m = mergeHeldSnapshots([a, b], '', (body, k) => {
      seen.push([body, k]);
      return body.toLowerCase();
    });
    assert.equal(m.wm, 1450);
    assert.equal(m.clock, 5000);
    assert.equal(m.bucket, 1);
    assert.deepEqual(
      m.sessions.map((s) => s[0]),
      ['a', 'b', 'c'],
    );
    assert.deepEqual(
      m.turns.map((t) => `${t[0]}/${t[1]}=${t[7]}`),
      ['a/t1=a1', 'b/t1=b1', 'c/t1=c1', 'a/t2=a2', 'b/t2=b2'],
    );
    assert.deepEqual(
      seen,
      [
        ['A1', 0],
        ['B1', 1],
        ['C1', 0],
        ['A2', 0],
        ['B2', 1],
      ],
      'bodies mapped in the merged order, with their shard',
    );
    assert.equal(m.order, undefined, 'no order in the merged snapshot (it is a checkpoint-like snapshot)');
  });

  it('a watermark is null only when every shard saw nothing', () => {
    assert.equal(mergeHeldSnapshots([part(null, [], []), part(null, [], [])], '', (b) => b).wm, null);
    assert.equal(mergeHeldSnapshots([part(null, [], []), part(7, [], [])], '', (b) => b).wm, 7);
  });

  it('refuses shards that are not of one log: another sweep clock, a session in two shards, no order', () => {
    assert.throws(() => mergeHeldSnapshots([part(1, [], []), part(1, [], [], 10_000)], '', (b) => b), /swept to clock 10000 .* not shards of one log/);
    assert.throws(() => mergeHeldSnapshots([part(1, [['a', 1]], []), part(1, [['a', 2]], [])], '', (b) => b), /session "a" is held by two shards/);
    // Not next to each other in the merged order: another session was made between them.
    assert.throws(
      () =>
        mergeHeldSnapshots(
          [
            part(
              1,
              [
                ['a', 1],
                ['c', 2],
              ],
              [],
            ),
            part(1, [['a', 3]], []),
          ],
          '',
          (b) => b,
        ),
      /session "a" is held by two shards/,
    );
    const { order: _order, ...unordered } = part(1, [['a', 1]], []);
    assert.throws(() => mergeHeldSnapshots([unordered], '', (b) => b), /shard 0 has no order/);
    assert.throws(() => mergeHeldSnapshots([part(1, [['a', -1]], [])], '', (b) => b), /a session with no position/);
    assert.throws(() => mergeHeldSnapshots([], '', (b) => b), /no shard/);
  });

  it('windows: closed turns’ texts re-numbered in the merged order, open turns’ snapshots as they are', () => {
    const open = { v: 1 } as unknown as WindowsSnapshot['held']['turns'][number][7];
    const w = (held: HeldTurnsSnapshot<unknown>, texts: string[]): WindowsSnapshot => ({ v: 2, held: held as WindowsSnapshot['held'], texts });
    const a = w(
      {
        ...part(
          1,
          [['a', 1]],
          [
            ['a', 't1', 1, 'x'],
            ['a', 't2', 5, 'x'],
          ],
        ),
        turns: [
          ['a', 't1', 1, 1, 0, 0, 1, 0],
          ['a', 't2', 1, 1, null, null, -1, open],
        ],
      } as HeldTurnsSnapshot<unknown>,
      ['a-t1'],
    );
    const b = w({ ...part(1, [['b', 2]], [['b', 't1', 3, 'x']]), turns: [['b', 't1', 1, 1, 0, 0, 3, 0]] } as HeldTurnsSnapshot<unknown>, ['b-t1']);
    const m = mergeWindowsSnapshots([a, b], '');
    assert.deepEqual(m.texts, ['a-t1', 'b-t1']);
    assert.deepEqual(
      m.held.turns.map((t) => t[7]),
      [0, 1, open],
    );
    const broken = w({ ...b.held, turns: [['b', 't1', 1, 1, 0, 0, 3, 4]] } as HeldTurnsSnapshot<unknown>, []);
    assert.throws(() => mergeWindowsSnapshots([a, broken], ''), /shard 1 names text 4/);
  });
});
