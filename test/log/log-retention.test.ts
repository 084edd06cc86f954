import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseLoggedEvent } from '../../src/events/parse-logged-event.ts';
import type { LoggedEvent } from '../../src/events/step-event.ts';
import type { AppendInput } from '../../src/log/event-log.ts';
import { LogTrimmedError } from '../../src/log/log-trimmed.ts';
import { openEmbeddedStore, type EmbeddedStore } from '../../src/state/open-embedded-store.ts';

const T0 = Date.parse('2026-03-02T10:00:00.000Z');
const dirs: string[] = [];
const open = (dir?: string): EmbeddedStore => {
  const d = dir ?? mkdtempSync(join(tmpdir(), 'turnstream-retention-'));
  if (dir === undefined) dirs.push(d);
  return openEmbeddedStore({ dataDir: d });
};
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const input = (id: string, session: string, timeMs: number): AppendInput => {
  const raw = JSON.stringify({ v: 1, id, type: 'session.start', session, time: timeMs });
  return { event: parseLoggedEvent(raw), raw };
};

/** 1000 events, 10 per second of event time: "old" only early, "straddle" throughout, "new" only late. */
function fill(store: EmbeddedStore): void {
  const batch: AppendInput[] = [];
  for (let i = 0; i < 1000; i++) {
    const session = i % 2 === 0 ? 'straddle' : i < 500 ? 'old' : 'new';
    batch.push(input(`e${i}`, session, T0 + i * 100));
  }
  store.log.appendSync(batch);
}

async function drain(it: AsyncIterable<LoggedEvent[]>): Promise<LoggedEvent[]> {
  const out: LoggedEvent[] = [];
  for await (const b of it) out.push(...b);
  return out;
}

const count = (store: EmbeddedStore, sql: string): number => (store.db.prepare(sql).get() as { n: number }).n;
const opts = {
  batchSize: 100,
  sweepMs: 5000,
  tick: (pos: number, timeMs: number): LoggedEvent => ({ pos, event: { id: 't', session: '', timeMs } as LoggedEvent['event'] }),
  skim: (pos: number, id: string, timeMs: number): LoggedEvent => ({ pos, event: { id, session: '', timeMs } as LoggedEvent['event'] }),
};

describe('SqliteEventLog.trimBefore: retention', () => {
  it('deletes through the last tick before the cutoff, never past maxPos; events and their ticks', async () => {
    const store = open();
    try {
      fill(store);
      assert.equal(store.log.trimmedThrough(), 0);
      const cutoff = T0 + 50_000; // event 500; the tick before it: event 490 (T0 + 49 s) at position 491
      assert.deepEqual(await store.log.trimBefore(cutoff, 300), { deleted: 300, through: 300 }, 'capped at maxPos');
      assert.deepEqual(await store.log.trimBefore(cutoff, 10_000), { deleted: 191, through: 491 });
      assert.deepEqual(await store.log.trimBefore(cutoff, 10_000), { deleted: 0, through: 491 }, 'nothing more before the same cutoff');
      assert.equal(store.log.trimmedThrough(), 491);
      assert.equal(count(store, 'SELECT MIN(pos) AS n FROM events'), 492);
      assert.equal(count(store, 'SELECT COUNT(*) AS n FROM events'), 509);
      assert.equal(count(store, 'SELECT COUNT(*) AS n FROM clock_ticks WHERE pos <= 491'), 0);
      // Every event left before the cutoff is within the last second before it (the clock's grain).
      assert.ok(count(store, "SELECT MIN(json_extract(body, '$.time')) AS n FROM events") >= cutoff - 1000);
    } finally {
      store.close();
    }
  });

  it('never deletes the last row (positions are row ids: an emptied table would count from 1 again)', async () => {
    const store = open();
    try {
      store.log.appendSync([input('a', 's', T0), input('b', 's', T0 + 1000), input('c', 's', T0 + 2000)]);
      assert.deepEqual(await store.log.trimBefore(T0 + 1_000_000, 3), { deleted: 2, through: 2 });
      assert.deepEqual(store.log.appendSync([input('d', 's', T0 + 3000)]), [{ status: 'appended', pos: 4 }]);
    } finally {
      store.close();
    }
  });

  it('reads before the trim point throw a LogTrimmedError that says where the log starts; reads after it go on', async () => {
    const store = open();
    try {
      fill(store);
      await store.log.trimBefore(T0 + 50_000, 10_000);
      await assert.rejects(drain(store.log.read()), (e: Error) => {
        assert.ok(e instanceof LogTrimmedError);
        assert.equal(
          e.message,
          'the event log was trimmed through position 491 (events up to 2026-03-02T10:00:49.000Z) by retention, so reading from position 1 is impossible; the log holds only what follows position 491',
        );
        return true;
      });
      await assert.rejects(drain(store.log.read({ after: 490, session: 'new' })), LogTrimmedError);
      assert.equal((await drain(store.log.read({ after: 491 }))).length, 509);
    } finally {
      store.close();
    }
  });

  it('a session that lost events cannot be replayed (the message names it); one that began after the trim point reads as before', async () => {
    const trimmed = open();
    const whole = open();
    try {
      fill(trimmed);
      fill(whole);
      await trimmed.log.trimBefore(T0 + 50_000, 10_000);
      for (const session of ['straddle', 'old']) {
        await assert.rejects(drain(trimmed.log.readSession(session, opts)), (e: Error) => {
          assert.ok(e instanceof LogTrimmedError);
          assert.match(
            e.message,
            new RegExp(`trimmed through position 491 .* so session "${session}", which has events before that point, cannot be replayed`),
          );
          return true;
        });
        await assert.rejects(drain(trimmed.log.readFollowing(session, opts)), LogTrimmedError);
        assert.throws(() => trimmed.log.refuseTrimmedSession(session), LogTrimmedError);
      }
      assert.deepEqual(await drain(trimmed.log.readSession('new', opts)), await drain(whole.log.readSession('new', opts)));
    } finally {
      trimmed.close();
      whole.close();
    }
  });

  it('the clock survives a trim that deleted every tick: the next appends tick as they would have', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'turnstream-retention-'));
    dirs.push(dir);
    let store = open(dir);
    store.log.appendSync([input('a', 's', T0), input('b', 's', T0 + 1000), input('c', 's', T0 + 1100)]);
    await store.log.trimBefore(T0 + 1_000_000, 3);
    assert.equal(count(store, 'SELECT COUNT(*) AS n FROM clock_ticks'), 0);
    store.close();
    store = open(dir);
    try {
      store.log.appendSync([input('d', 's', T0 + 1500), input('e', 's', T0 + 2000)]);
      assert.deepEqual(
        store.db
          .prepare('SELECT pos, wm FROM clock_ticks')
          .all()
          .map((r) => ({ ...r })),
        [{ pos: 5, wm: T0 + 2000 }],
      );
    } finally {
      store.close();
    }
  });

  it('one trim at a time: a call while one runs gets its result', async () => {
    const store = open();
    try {
      fill(store);
      const [a, b] = await Promise.all([store.log.trimBefore(T0 + 50_000, 10_000), store.log.trimBefore(T0 + 90_000, 10_000)]);
      assert.deepEqual(a, b);
      assert.equal(a.through, 491);
    } finally {
      store.close();
    }
  });
});
