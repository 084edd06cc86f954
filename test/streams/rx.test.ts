import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as rxjs from 'rxjs';
import { filter, map, share, Subject } from '../../src/streams/rx.ts';

type Subjects = { Subject: typeof rxjs.Subject; share: typeof rxjs.share; map: typeof rxjs.map; filter: typeof rxjs.filter };

/** One script of subscriptions, unsubscriptions during delivery, completion and use after close; what each observer saw. */
function script(rx: Subjects): string[] {
  const seen: string[] = [];
  const input = new rx.Subject<number>();
  const shared = input.pipe(
    rx.map((x) => x * 10),
    rx.share(),
  );
  const a = shared.subscribe({ next: (v) => seen.push(`a${v}`), complete: () => seen.push('a done') });
  let late: rxjs.Subscription | undefined;
  const b = shared.subscribe((v) => {
    seen.push(`b${v}`);
    // Added during a delivery: sees the next value, not this one.
    late ??= shared.pipe(rx.filter((x) => x > 10)).subscribe({ next: (x) => seen.push(`late${x}`), complete: () => seen.push('late done') });
    if (v === 20) b.unsubscribe(); // removed during a delivery: the others still get this value
  });
  input.next(1);
  input.next(2);
  input.next(3);
  a.unsubscribe();
  input.next(4);
  input.complete();
  input.next(5); // stopped: ignored
  input.unsubscribe();
  try {
    input.next(6);
    seen.push('no throw');
  } catch (error) {
    seen.push(`threw ${(error as Error).name}`);
  }
  const errors = new rx.Subject<number>();
  errors.subscribe({ error: (e: unknown) => seen.push(`error ${String(e)}`) });
  errors.error('boom');
  errors.next(7);
  late?.unsubscribe();
  return seen;
}

describe('rx.ts Subject and share (allocation-free next)', () => {
  it('behave as rxjs Subject and share: delivery order, observers added or removed during next, complete, error, closed', () => {
    const ours = script({ Subject, share, map, filter } as unknown as Subjects);
    const theirs = script(rxjs);
    assert.deepEqual(ours, theirs);
    assert.ok(ours.includes('late40') && ours.includes('threw ObjectUnsubscribedError') && ours.includes('error boom'), ours.join(','));
  });
});
