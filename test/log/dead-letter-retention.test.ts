import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeadLetter } from '../../src/events/reject-reason.ts';
import { openSqlite } from '../../src/log/open-sqlite.ts';
import { SqliteDeadLetterStore } from '../../src/log/sqlite-dead-letter-store.ts';

const AT = Date.parse('2026-03-02T10:00:00Z');
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const fresh = () => {
  const dir = mkdtempSync(join(tmpdir(), 'turnstream-dl-'));
  dirs.push(dir);
  return openSqlite({ dataDir: dir });
};
const letter = (i: number, extra: Partial<DeadLetter> = {}): DeadLetter => ({
  reason: 'invalid_json',
  message: 'm',
  raw: `raw-${i}`,
  source: 'http',
  at: AT + i,
  ...extra,
});
const retention = { maxRows: 10, maxRowsPerSource: 6, maxBytes: 1_000_000, maxAgeMillis: 3_600_000 };

describe('SqliteDeadLetterStore retention', () => {
  it('keeps at most maxRowsPerSource of one source and maxRows in total, oldest trimmed, and says how many', async () => {
    const store = new SqliteDeadLetterStore(fresh(), { retention });
    assert.equal(await store.put(Array.from({ length: 8 }, (_, i) => letter(i))), 2);
    assert.deepEqual(
      (await store.list()).map((l) => l.raw),
      ['raw-2', 'raw-3', 'raw-4', 'raw-5', 'raw-6', 'raw-7'],
    );
    assert.equal(await store.put(Array.from({ length: 5 }, (_, i) => letter(100 + i, { source: 'pipeline', reason: 'late' }))), 1);
    const kept = await store.list();
    assert.equal(kept.length, 10);
    assert.equal(kept.filter((l) => l.source === 'http').length, 5);
    assert.equal(kept[0]!.raw, 'raw-3');
  });

  it('keeps at most maxBytes and drops letters older than maxAge (from the newest arrival)', async () => {
    const store = new SqliteDeadLetterStore(fresh(), { retention: { ...retention, maxRows: 1000, maxRowsPerSource: 1000, maxBytes: 1000 } });
    await store.put(Array.from({ length: 10 }, (_, i) => letter(i, { raw: 'x'.repeat(199) })));
    const rows = await store.list();
    assert.ok(rows.length <= 5 && rows.length >= 4, `${rows.length} rows`);
    assert.equal(rows.at(-1)!.at, AT + 9, 'the newest stay');
    const aged = new SqliteDeadLetterStore(fresh(), { retention });
    await aged.put([letter(0), letter(1)]);
    assert.equal(await aged.put([letter(2 * 3_600_000)]), 2);
    assert.deepEqual(
      (await aged.list()).map((l) => l.at),
      [AT + 2 * 3_600_000],
    );
  });

  it('adds the raw_base64 and size columns to a database made before them, keeping its rows', async () => {
    const db = fresh();
    db.exec(
      'CREATE TABLE dead_letters (n INTEGER PRIMARY KEY, at INTEGER NOT NULL, reason TEXT NOT NULL, source TEXT NOT NULL, session TEXT, event_id TEXT, message TEXT NOT NULL, raw TEXT NOT NULL)',
    );
    db.prepare('INSERT INTO dead_letters (at, reason, source, message, raw) VALUES (?, ?, ?, ?, ?)').run(AT, 'schema', 'http', 'old', '{"old":1}');
    const store = new SqliteDeadLetterStore(db);
    const bytes = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
    await store.put([letter(1, { reason: 'invalid_utf8', raw: bytes.toString('utf8'), rawBase64: bytes.toString('base64'), size: 300_000 })]);
    const [old, fresh1] = await store.list();
    assert.deepEqual(old, { at: AT, reason: 'schema', source: 'http', message: 'old', raw: '{"old":1}' });
    assert.deepEqual(Buffer.from(fresh1!.rawBase64!, 'base64'), bytes);
    assert.equal(fresh1!.size, 300_000);
    new SqliteDeadLetterStore(db); // reopening an upgraded table changes nothing
    assert.equal((await store.list()).length, 2);
  });
});
