import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as turn } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { parseLoggedEvent } from '../../src/events/parse-logged-event.ts';
import type { AppendInput } from '../../src/log/event-log.ts';
import { LogWriter } from '../../src/log/log-writer.ts';
import { MAIN_WRITER, WriteLock } from '../../src/log/write-lock.ts';
import { openEmbeddedStore, type EmbeddedStore } from '../../src/state/open-embedded-store.ts';

const dirs: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'turnstream-writer-'));
  dirs.push(d);
  return d;
};
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const T0 = Date.parse('2026-03-02T10:00:00.000Z');
const event = (id: string, session: string, i: number): AppendInput => {
  const raw = JSON.stringify({ v: 1, id, type: 'state.set', session, time: T0 + i, seq: i, key: `k${i % 50}`, value: 'x'.repeat(300) });
  return { event: parseLoggedEvent(raw), raw };
};

/** A fresh store and its log writer thread, closed after `fn` whatever it does. */
async function withWriter(fn: (store: EmbeddedStore, writer: LogWriter) => Promise<void>): Promise<void> {
  const dataDir = tmp();
  const store = openEmbeddedStore({ dataDir, writable: true });
  const writer = await LogWriter.start({ dataDir, db: store.db });
  try {
    await fn(store, writer);
  } finally {
    await writer.close();
    store.close();
  }
}

describe('the log writer thread beside the main thread’s writes', () => {
  it('appends and state commits at the same time: every write lands, none fails busy, positions stay contiguous', async () => {
    await withWriter(async (store, writer) => {
      const batches = 40;
      const perBatch = 500;
      const inputs = Array.from({ length: batches }, (_, b) =>
        Array.from({ length: perBatch }, (_, i) => event(`e${b}-${i}`, `s${(b * perBatch + i) % 13}`, b * perBatch + i)),
      );
      let committing = true;
      let commits = 0;
      // The main thread commits state in a loop (each a write transaction) while the appends run.
      const committer = (async () => {
        while (committing) {
          commits++;
          await store.state.commit({
            writes: Array.from({ length: 200 }, (_, i) => ({
              session: `c${commits % 7}`,
              key: `k${i}`,
              deleted: false as const,
              value: 'y'.repeat(200),
              version: { time: T0 + commits, seq: commits, id: `c-${commits}-${i}` },
            })),
            deltas: [],
            turns: [],
            position: commits,
          });
          await turn();
        }
      })();
      // One append at a time, each its own transaction (appends posted together would share one:
      // group commit), so the two threads' transactions interleave.
      const outcomes: Awaited<ReturnType<LogWriter['append']>> = [];
      for (const batch of inputs) outcomes.push(...(await writer.append(batch)));
      committing = false;
      await committer;
      assert.ok(commits > 5, `the main thread committed while appends ran (${commits} commits)`);
      const positions = outcomes.map((o) => (o.status === 'appended' ? o.pos : -1));
      assert.deepEqual(
        positions,
        Array.from({ length: batches * perBatch }, (_, i) => i + 1),
        'appended in the order of the calls, no gaps',
      );
      assert.equal(store.log.headSync(), batches * perBatch);
      assert.equal(await store.state.position(), commits);
    });
  });

  it('a duplicate id is a duplicate on the thread too, within a batch and across batches', async () => {
    await withWriter(async (_store, writer) => {
      const out1 = await writer.append([event('a', 's', 1), event('b', 's', 2), event('a', 's', 3)]);
      const out2 = await writer.append([event('b', 's', 4), event('c', 's', 5)]);
      assert.deepEqual(out1, [{ status: 'appended', pos: 1 }, { status: 'appended', pos: 2 }, { status: 'duplicate' }]);
      assert.deepEqual(out2, [{ status: 'duplicate' }, { status: 'appended', pos: 3 }]);
    });
  });

  it('appends queued together commit in one transaction, each answered as if alone; an exec between them keeps its place', async () => {
    await withWriter(async (store, writer) => {
      const calls = 12;
      const perCall = 400;
      // Call k repeats one id of call k - 1 (a duplicate across two calls of one group) and one of its own.
      const inputs = Array.from({ length: calls }, (_, k) => [
        ...Array.from({ length: perCall }, (_, i) => event(`g${k}-${i}`, `s${i % 9}`, k * perCall + i)),
        event(k === 0 ? 'g0-0' : `g${k - 1}-7`, 's0', 0),
        event(`g${k}-3`, 's1', 0),
      ]);
      // An exec posted between the sixth and seventh appends ends the group: the appends before it are in the log when it answers.
      let headAtExec = -1;
      const pending: Promise<unknown>[] = [];
      inputs.forEach((batch, k) => {
        if (k === 6) pending.push(writer.exec('SELECT 1').then(() => (headAtExec = store.log.headSync())));
        pending.push(writer.append(batch));
      });
      const outcomes = (await Promise.all(pending)).filter(Array.isArray) as { status: string; pos?: number }[][];
      outcomes.forEach((out, k) => {
        assert.deepEqual(
          out.map((o) => o.pos ?? 0),
          [...Array.from({ length: perCall }, (_, i) => k * perCall + i + 1), 0, 0],
          `call ${k}: its positions in call order, its two repeated ids duplicates`,
        );
      });
      assert.equal(store.log.headSync(), calls * perCall);
      assert.ok(headAtExec >= 6 * perCall, `the exec answered with ${headAtExec} events in the log`);
      assert.equal(writer.stats.appends, calls);
      assert.ok(writer.stats.transactions <= calls / 2, `${calls} appends posted at once took ${writer.stats.transactions} transactions`);
    });
  });

  it('a group that cannot commit (disk full) fails each of its callers with the cause, and appends none of it', async () => {
    await withWriter(async (store, writer) => {
      await writer.append([event('first', 's', 0)]);
      const { page_count: pages } = store.db.prepare('PRAGMA page_count').get() as { page_count: number };
      await writer.exec(`PRAGMA max_page_count = ${pages}`);
      const calls = Array.from({ length: 6 }, (_, k) => writer.append(Array.from({ length: 300 }, (_, i) => event(`full${k}-${i}`, `s${i % 5}`, i))));
      const settled = await Promise.allSettled(calls);
      for (const r of settled)
        assert.ok(r.status === 'rejected' && /full/i.test(String((r.reason as Error).message)), String(r.status === 'rejected' ? r.reason : 'appended'));
      assert.equal(store.log.headSync(), 1, 'nothing of the failed group is in the log');
      await writer.exec('PRAGMA max_page_count = 1073741823');
      const out = await writer.append([event('full0-0', 's', 1), event('after', 's', 2)]);
      assert.deepEqual(
        out,
        [
          { status: 'appended', pos: 2 },
          { status: 'appended', pos: 3 },
        ],
        'the failed ids were never logged',
      );
    });
  });

  it('a thread that ends is replaced by the next append, which sees what the old one committed', async () => {
    await withWriter(async (store, writer) => {
      assert.deepEqual(await writer.append([event('a', 's', 1)]), [{ status: 'appended', pos: 1 }]);
      // The thread dies (as after an uncaught error): terminated from outside.
      await writer['worker']!.terminate();
      const out = await writer.append([event('a', 's', 1), event('b', 's', 2)]);
      assert.deepEqual(out, [{ status: 'duplicate' }, { status: 'appended', pos: 2 }], 'the new thread sees what the old one committed');
      assert.equal(store.log.headSync(), 2);
    });
  });

  it('refuses to start on a file that is not a store, naming the path', async () => {
    const dataDir = tmp();
    const store = openEmbeddedStore({ dataDir, writable: true });
    store.close();
    rmSync(join(dataDir, 'turnstream.db-wal'), { force: true });
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dataDir, 'turnstream.db'), 'not a database, just text that is long enough to have a header');
    const db = openEmbeddedStore({ dataDir: tmp() }).db;
    await assert.rejects(LogWriter.start({ dataDir, db }), (e: Error) => e.message.includes(join(dataDir, 'turnstream.db')));
    db.close();
  });
});

describe('WriteLock across threads', () => {
  it('a writer waits for the other thread to release, and wakes when it does', async () => {
    const lock = new WriteLock(MAIN_WRITER);
    const holder = new Worker(
      `const { workerData, parentPort } = require('node:worker_threads');
       const cell = new Int32Array(workerData);
       Atomics.store(cell, 0, 2);
       parentPort.postMessage('held');
       Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
       Atomics.store(cell, 0, 0); Atomics.notify(cell, 0, 1);`,
      { eval: true, workerData: lock.buffer },
    );
    await new Promise((ok) => holder.once('message', ok));
    const started = performance.now();
    lock.acquire();
    const waited = performance.now() - started;
    lock.release();
    await new Promise((ok) => holder.once('exit', ok));
    assert.ok(waited >= 200 && waited < 2_000, `waited ${waited.toFixed(0)} ms for the other thread`);
  });

  it('a thread that died holding the lock is released for it (releaseFor)', async () => {
    const lock = new WriteLock(MAIN_WRITER);
    const dying = new Worker(`Atomics.store(new Int32Array(require('node:worker_threads').workerData), 0, 2); process.exit(1);`, {
      eval: true,
      workerData: lock.buffer,
    });
    await new Promise((ok) => dying.once('exit', ok));
    lock.releaseFor(2);
    const started = performance.now();
    lock.acquire();
    lock.release();
    assert.ok(performance.now() - started < 100, 'free at once');
  });
});
