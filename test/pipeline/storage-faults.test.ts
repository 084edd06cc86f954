import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPriceTable } from '../../src/events/price-table.ts';
import { parseLoggedEvent } from '../../src/events/parse-logged-event.ts';
import { openEmbeddedPipeline } from '../../src/pipeline/open-embedded-pipeline.ts';
import { openEmbeddedStore } from '../../src/state/open-embedded-store.ts';
import { createLogger } from '../../src/logger.ts';

const prices = createPriceTable();
const stateSet = (i: number, session = 'disk'): string =>
  `{"v":1,"id":"w-${session}-${i}","type":"state.set","session":"${session}","time":"2026-03-02T10:00:00Z","seq":${i},"key":"k${i}","value":"${'x'.repeat(600)}"}`;
const pageCount = (db: { prepare(sql: string): { get(): unknown } }): number => (db.prepare('PRAGMA page_count').get() as { page_count: number }).page_count;

describe('storage faults are named, reported by /healthz, and processing resumes by itself', () => {
  const dirs: string[] = [];
  const tmp = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'turnstream-storage-'));
    dirs.push(d);
    return d;
  };
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('disk full (SQLITE_FULL via max_page_count): ingest fails with the cause, health names it, recovery needs no restart', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', write: (l) => lines.push(l) });
    const p = await openEmbeddedPipeline({ dataDir: tmp(), prices, logger, retry: { retryMinMillis: 20, retryMaxMillis: 100 } });
    try {
      // Logged while there was room; then the disk "fills" before they are processed.
      const raws = Array.from({ length: 200 }, (_, i) => stateSet(i));
      const outcomes = await p.store.log.append(raws.map((raw, i) => ({ event: { id: `w-disk-${i}`, session: 'disk' } as never, raw })));
      // A full disk fails every connection's writes: the main thread's and the log writer thread's.
      const full = `PRAGMA max_page_count = ${pageCount(p.store.db)}`;
      assert.ok(p.logWriter, 'ingest appends on the log writer thread (the default)');
      p.store.db.exec(full);
      await p.logWriter.exec(full);
      p.pump.push(outcomes.map((o, i) => ({ pos: (o as { pos: number }).pos, event: parseLoggedEvent(raws[i]!) })));
      await waitFor(() => p.pump.fault !== undefined);
      assert.match(p.pump.fault!, /disk full \(SQLITE_FULL\)/);
      await assert.rejects(
        p.ingestor.ingest(
          Array.from({ length: 200 }, (_, i) => stateSet(i, 'late')),
          'test',
        ),
        (error: Error) => {
          assert.doesNotMatch(error.message, /no transaction is active/, 'the cause is reported, not the failed rollback');
          assert.match(error.message, /full/);
          return true;
        },
      );
      const sick = p.health();
      assert.equal(sick.ok, false);
      assert.match(sick.fault ?? '', /^ingest: disk full/);
      assert.ok(!lines.some((l) => l.includes('no transaction is active')), lines.join('\n'));
      assert.ok(
        lines.some((l) => l.includes('SQLITE_FULL')),
        'the log names the fault',
      );

      // Space returns: both ingest and processing recover by themselves.
      p.store.db.exec('PRAGMA max_page_count = 1073741823');
      await p.logWriter.exec('PRAGMA max_page_count = 1073741823');
      await waitFor(() => p.pump.fault === undefined);
      assert.equal(p.health().ok, true, JSON.stringify(p.health()));
      assert.equal(p.processor.committedPosition, 200);
      assert.equal(Object.keys(await p.store.state.list('disk')).length, 200, 'nothing was lost');
      const res = await p.ingestor.ingest([stateSet(1, 'after')], 'test');
      assert.equal(res[0]!.status, 'accepted');
      await p.pump.idle();
      assert.equal(Object.keys(await p.store.state.list('after')).length, 1);
      assert.ok(lines.some((l) => l.includes('processing resumed')));
    } finally {
      await p.close();
    }
  });

  it('refuses unusable database files at start, naming the path', async () => {
    const empty = tmp();
    writeFileSync(join(empty, 'turnstream.db'), '');
    await assert.rejects(
      openEmbeddedPipeline({ dataDir: empty, prices }),
      (e: Error) => e.message.includes(join(empty, 'turnstream.db')) && /empty \(0 bytes\)/.test(e.message),
    );

    const junk = tmp();
    writeFileSync(join(junk, 'turnstream.db'), 'this is a text file, not a database; '.repeat(200));
    await assert.rejects(
      openEmbeddedPipeline({ dataDir: junk, prices }),
      (e: Error) => e.message.includes(join(junk, 'turnstream.db')) && /not a database/.test(e.message),
    );

    const isDir = tmp();
    execFileSync('mkdir', [join(isDir, 'turnstream.db')]);
    await assert.rejects(openEmbeddedPipeline({ dataDir: isDir, prices }), /not a regular file/);

    // Read-only: chmod does not stop root, so as root the file is made immutable instead.
    const ro = tmp();
    const store = openEmbeddedStore({ dataDir: ro });
    store.close();
    const dbFile = join(ro, 'turnstream.db');
    const root = process.getuid?.() === 0;
    if (root) execFileSync('chattr', ['+i', dbFile]);
    else chmodSync(dbFile, 0o444);
    try {
      await assert.rejects(openEmbeddedPipeline({ dataDir: ro, prices }), (e: Error) => e.message.includes(dbFile) && /read-only|readonly/i.test(e.message));
      // Readers (sessions, replay) still open it.
      const reader = openEmbeddedStore({ dataDir: ro });
      assert.deepEqual(await reader.state.sessions(), []);
      reader.close();
    } finally {
      if (root) execFileSync('chattr', ['-i', dbFile]);
    }
  });
});

async function waitFor(check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
