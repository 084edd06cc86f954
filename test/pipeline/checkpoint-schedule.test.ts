import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CheckpointSchedule } from '../../src/pipeline/checkpoint-schedule.ts';
import type { OpenWork } from '../../src/pipeline/checkpoint-codec.ts';

/** Open work whose document is ~4 MB: many steps to encode. */
function bigWork(): OpenWork {
  const turns = Array.from({ length: 8000 }, (_, i) => [`s${i % 50}`, `t${i}`, i, i, null, null, -1, [i, 'x'.repeat(480)]]);
  return { windows: { v: 2, held: { wm: 0, bucket: null, clock: 0, sessions: [], turns }, texts: [] } as never, poisoned: [] };
}

describe('CheckpointSchedule: a checkpoint encoded in slices, within its share of the time', () => {
  it('uses at most `share` of the time since it was taken (plus a slice), waits in nextStep when it has used it', async () => {
    const schedule = new CheckpointSchedule(true, { everyEvents: 1, sliceMs: 1, share: 0.1 });
    assert.ok(schedule.due(1));
    const began = performance.now();
    schedule.begin(1, 'settings', bigWork(), false);
    let spent = 0;
    let waits = 0;
    let done: unknown;
    while (done === undefined) {
      const from = performance.now();
      done = schedule.advance(from + 1);
      spent += performance.now() - from;
      const elapsed = performance.now() - began;
      // One step may overrun its slice (a piece of ~64 KB of JSON): allow 25 ms for it.
      assert.ok(spent <= 0.1 * elapsed + 1 + 25, `spent ${spent.toFixed(1)} ms of ${elapsed.toFixed(1)} ms`);
      const next = schedule.nextStep();
      assert.ok(next !== undefined);
      const t = performance.now();
      await next;
      if (performance.now() - t >= 1) waits++;
    }
    assert.ok(waits > 0, 'it waited for its share');
    assert.ok(performance.now() - began >= 5 * spent, `${spent.toFixed(1)} ms of encoding spread over ${(performance.now() - began).toFixed(0)} ms`);
    const finished = new CheckpointSchedule(true, { everyEvents: 1, sliceMs: 1, share: 0.1 });
    finished.begin(1, 'settings', bigWork(), false);
    assert.ok(finished.advance(Number.POSITIVE_INFINITY) !== undefined, 'finishing one (a clean stop) is not limited');
  });
});

describe('CheckpointSchedule: staged files of a checkpoint that will not be committed', () => {
  const work = (): OpenWork => ({ windows: { v: 2, held: { wm: 0, bucket: null, clock: 0, sessions: [], turns: [] }, texts: [] } as never, poisoned: [] });
  const staging = () => {
    const unstaged: string[] = [];
    let n = 0;
    const gates: (() => void)[] = [];
    const schedule = new CheckpointSchedule(
      true,
      { everyEvents: 1 },
      {
        settings: 's',
        keepsTexts: false,
        stage: async (c) => {
          const name = `doc-${++n}`;
          await new Promise<void>((ok) => gates.push(ok));
          return { ...c, staged: { doc: name } };
        },
        unstage: (c) => void unstaged.push(c.staged!.doc),
      },
    );
    return { schedule, unstaged, gates };
  };
  const finish = async (t: ReturnType<typeof staging>, position: number) => {
    t.schedule.begin(position, 's', work(), false);
    assert.equal(t.schedule.advance(Number.POSITIVE_INFINITY), undefined, 'encoded, now staging');
    t.gates.shift()!();
    await t.schedule.nextStep();
    const staged = t.schedule.advance(Number.POSITIVE_INFINITY);
    assert.ok(staged?.staged !== undefined);
    return staged;
  };

  it('removes the files of a staged checkpoint that is dropped (replaced, or the operators rewired); not those of one saved', async () => {
    const t = staging();
    const first = await finish(t, 1);
    t.schedule.saved(first);
    assert.deepEqual(t.unstaged, [], 'the committed checkpoint keeps its files');
    await finish(t, 2);
    t.schedule.begin(3, 's', work(), false); // a clean stop's checkpoint in its place
    assert.deepEqual(t.unstaged, ['doc-2']);
    t.schedule.advance(Number.POSITIVE_INFINITY);
    t.gates.shift()!();
    await t.schedule.nextStep();
    t.schedule.advance(Number.POSITIVE_INFINITY);
    t.schedule.rewired(); // an isolation rebuild
    assert.deepEqual(t.unstaged, ['doc-2', 'doc-3']);
  });

  it('removes the files of a checkpoint dropped while it was being staged, once the staging ends', async () => {
    const t = staging();
    t.schedule.begin(1, 's', work(), false);
    t.schedule.advance(Number.POSITIVE_INFINITY);
    const stagingDone = t.schedule.nextStep();
    t.schedule.rewired();
    assert.deepEqual(t.unstaged, [], 'nothing written yet');
    t.gates.shift()!();
    await stagingDone;
    assert.deepEqual(t.unstaged, ['doc-1']);
  });
});
