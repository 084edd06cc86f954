import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, it } from 'node:test';
import { makeHistory } from '../../bench/make-history.ts';
import { parseSizes } from '../../bench/options.ts';
import { generateWorkload } from '../../bench/workload.ts';

const root = mkdtempSync(join(tmpdir(), 'turnstream-make-history-test-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** Every row of a table, in a stable order, as text: two stores compare equal when these do. */
function rows(dataDir: string, sql: string): string[] {
  const db = new DatabaseSync(join(dataDir, 'turnstream.db'), { readOnly: true });
  try {
    return db
      .prepare(sql)
      .all()
      .map((r) => JSON.stringify(r));
  } finally {
    db.close();
  }
}

describe('makeHistory', () => {
  const options = { events: 10_000, sessions: 50, seed: 7 };

  it("appends the workload's exact lines, processes them, and ends with sessions still open", async () => {
    const dataDir = join(root, 'fresh');
    const r = await makeHistory({ dataDir, ...options });
    const { lines, stats } = generateWorkload(options);
    assert.deepEqual(
      rows(dataDir, 'SELECT body FROM events ORDER BY pos'),
      lines.map((body) => JSON.stringify({ body })),
    );
    assert.equal(r.events, 10_000);
    assert.equal(r.resumedFrom, 0);
    assert.equal(r.lastEventMs, Date.parse((JSON.parse(lines.at(-1)!) as { time: string }).time));
    assert.ok(r.turnsStored > 0 && r.turnsStored <= stats.turnsClosed + stats.turnsLeftOpen, `${r.turnsStored} turns stored`);
    assert.ok(r.turnsLeftOpen >= 50, 'every concurrent session still has open turns at the end');
    assert.ok(lines.some((l) => l.includes(`"session":"${r.middleSession}"`)));
    const [position] = rows(dataDir, "SELECT value FROM meta WHERE name = 'position'");
    assert.equal(JSON.parse(position!).value, 10_000, 'the processor committed the whole log');
  });

  it('continues a smaller history of the same workload into the same store as a fresh build', async () => {
    const continued = join(root, 'continued');
    await makeHistory({ dataDir: continued, ...options, events: 6_000 });
    const r = await makeHistory({ dataDir: continued, ...options });
    assert.equal(r.resumedFrom, 6_000);
    const fresh = join(root, 'fresh');
    assert.deepEqual(rows(continued, 'SELECT pos, id, body FROM events ORDER BY pos'), rows(fresh, 'SELECT pos, id, body FROM events ORDER BY pos'));
    assert.deepEqual(rows(continued, 'SELECT * FROM turns ORDER BY session, turn'), rows(fresh, 'SELECT * FROM turns ORDER BY session, turn'));
    // Not v_seq: on the totals rows it is the position of the commit that wrote them, which depends on batch boundaries.
    const state = 'SELECT session, key, value, deleted, v_time FROM state ORDER BY session, key';
    assert.deepEqual(rows(continued, state), rows(fresh, state));
  });

  it("refuses a data dir that holds another workload's events", async () => {
    const other = join(root, 'other');
    await makeHistory({ dataDir: other, ...options, events: 2_000, seed: 8 });
    await assert.rejects(makeHistory({ dataDir: other, ...options }), /not this workload's/);
  });
});

describe('parseSizes', () => {
  it('reads k/M suffixes and plain counts, sorted and without repeats', () => {
    assert.deepEqual(parseSizes('10M,200k, 1M,1_000_000'), [200_000, 1_000_000, 10_000_000]);
    assert.throws(() => parseSizes('1G'), /not a positive event count/);
  });
});
