import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseLoggedEvent } from '../../src/events/parse-logged-event.ts';
import type { LoggedEvent } from '../../src/events/step-event.ts';
import { clockTick, STAND_IN_SESSION } from '../../src/log/watermark-stand-in.ts';
import { openEmbeddedStore, type EmbeddedStore } from '../../src/state/open-embedded-store.ts';
import { messyStream } from '../replay/messy-stream.ts';

describe('readShardTicked: a shard of the sessions, with the clock ticks in place of the others', () => {
  let dir: string;
  let store: EmbeddedStore;
  let head: number;
  let ticks: [number, number][];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'turnstream-shard-read-'));
    store = openEmbeddedStore({ dataDir: dir, writable: true });
    for (const seed of [31, 32]) {
      const lines = messyStream({ seed, sessions: 12 }).lines;
      store.log.appendSync(lines.map((raw) => ({ event: parseLoggedEvent(raw), raw })));
    }
    head = store.log.headSync();
    ticks = (store.db.prepare('SELECT pos, wm FROM clock_ticks ORDER BY pos').all() as { pos: number; wm: number }[]).map((t) => [t.pos, t.wm]);
  });
  after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function read(shard: number, of: number, through = head, batchSize = 50): Promise<LoggedEvent[]> {
    const out: LoggedEvent[] = [];
    const r = store.log.readShard({ shard, of, through, batchSize, tick: clockTick });
    assert.ok(r !== undefined);
    for await (const batch of r) {
      assert.ok(batch.length <= batchSize);
      out.push(...batch);
    }
    return out;
  }

  for (const shards of [1, 2, 3, 5]) {
    it(`${shards} shard(s): every row in exactly one, each session whole in one, every tick elsewhere, in log order`, async () => {
      const owner = new Map<string, number>();
      const rows = new Set<number>();
      for (let k = 0; k < shards; k++) {
        const got = await read(k, shards);
        const positions = got.map((l) => l.pos);
        assert.deepEqual(
          positions,
          [...positions].sort((a, b) => a - b),
          'log order',
        );
        assert.equal(new Set(positions).size, positions.length, 'each position once');
        const own = got.filter((l) => l.event.session !== STAND_IN_SESSION);
        for (const l of own) {
          assert.ok(!rows.has(l.pos), `row ${l.pos} in one shard only`);
          rows.add(l.pos);
          const o = owner.get(l.event.session) ?? k;
          assert.equal(o, k, `session ${l.event.session} whole in one shard`);
          owner.set(l.event.session, k);
        }
        // Every tick not at one of this shard's rows is there, with its clock.
        const mine = new Set(own.map((l) => l.pos));
        const stand = got.filter((l) => l.event.session === STAND_IN_SESSION).map((l) => [l.pos, l.event.timeMs]);
        assert.deepEqual(
          stand,
          ticks.filter(([pos]) => !mine.has(pos)),
        );
        if (shards > 1) assert.ok(own.length > 0 && own.length < head, `shard ${k} of ${shards} holds some sessions, not all (${own.length} rows)`);
      }
      assert.equal(rows.size, head, 'the shards hold every row');
    });
  }

  it('stops at `through`; refuses a log whose ticks stop short of it', async () => {
    const got = await read(0, 2, 100, 7);
    assert.ok(got.length > 0 && got.every((l) => l.pos <= 100));
    assert.equal(store.log.readShard({ shard: 0, of: 2, through: head + 1, batchSize: 10, tick: clockTick }), undefined);
  });
});

describe('readShardTicked: session ids shorter than the hash reads (one or two characters) are in a shard too', () => {
  it('every row of one- and two-character sessions is in exactly one shard', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'turnstream-shard-short-'));
    const store = openEmbeddedStore({ dataDir: dir, writable: true });
    try {
      const sessions = ['a', 'b', 'c', 'dd', 'e1', 'x'];
      const lines = sessions.flatMap((session, s) =>
        [0, 1, 2].map((i) =>
          JSON.stringify({ v: 1, id: `${session}-${i}`, type: 'state.set', session, key: 'k', value: i, time: Date.UTC(2026, 0, 1) + s * 10_000 + i }),
        ),
      );
      store.log.appendSync(lines.map((raw) => ({ event: parseLoggedEvent(raw), raw })));
      for (const shards of [2, 3]) {
        const seen: number[] = [];
        for (let shard = 0; shard < shards; shard++) {
          for await (const batch of store.log.readShard({ shard, of: shards, through: lines.length, batchSize: 100, tick: clockTick })!) {
            for (const l of batch) if (l.event.session !== STAND_IN_SESSION) seen.push(l.pos);
          }
        }
        assert.deepEqual(
          seen.sort((x, y) => x - y),
          Array.from({ length: lines.length }, (_, i) => i + 1),
          `${shards} shards`,
        );
      }
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
