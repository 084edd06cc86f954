import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseLoggedEvent } from '../../src/events/parse-logged-event.ts';
import { createPriceTable } from '../../src/events/price-table.ts';
import type { ReplayStop } from '../../src/replay/replay-log.ts';
import { replaySession, type SessionReplay } from '../../src/replay/replay-session.ts';
import { sqliteFocusedRead } from '../../src/replay/sqlite-focused-read.ts';
import { openEmbeddedStore, type EmbeddedStore } from '../../src/state/open-embedded-store.ts';
import { MESSY_WINDOWS, messyStream } from './messy-stream.ts';

const prices = createPriceTable();

/** What a replay derives for the session; `fed` and `position` say how much of the log it read, which is the point of the ticks. */
const outputs = ({ fed: _f, position: _p, letters, ...r }: SessionReplay) => ({ ...r, letters: letters.map(({ at: _at, ...l }) => l) });

describe('one-session replay through the clock ticks = through every event', () => {
  let dir: string;
  let store: EmbeddedStore;
  const sessions: string[] = [];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'turnstream-ticked-replay-'));
    store = openEmbeddedStore({ dataDir: dir });
    // Several messy streams one after the other in the log, interleaved in event time with each other.
    for (const seed of [11, 12, 13]) {
      const m = messyStream({ seed, sessions: 8 });
      sessions.push(...m.sessions);
      store.log.appendSync(m.lines.map((raw) => ({ event: parseLoggedEvent(raw), raw })));
    }
  });
  after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const replay = (session: string, focused: boolean, stop?: ReplayStop, lastPos?: number) =>
    replaySession({
      log: store.log,
      ...(focused ? { focusedRead: sqliteFocusedRead(store.log) } : {}),
      session,
      prices,
      windows: MESSY_WINDOWS,
      batchSize: 37,
      ...(stop === undefined ? {} : { stop }),
      ...(lastPos === undefined ? {} : { lastPos }),
    });

  it('each session: the same turns, totals, state, late events and open turns, reading far fewer events', async () => {
    let fedTicked = 0;
    let fedAll = 0;
    for (const session of sessions) {
      const ticked = await replay(session, true);
      const all = await replay(session, false);
      assert.ok(ticked.events > 0);
      assert.deepEqual(outputs(ticked), outputs(all), session);
      fedTicked += ticked.fed;
      fedAll += all.fed;
    }
    assert.ok(fedTicked < fedAll / 2, `ticks fed ${fedTicked} events, the whole log ${fedAll}`);
  });

  it('with the last position known (stops once settled): the same', async () => {
    for (const session of sessions.slice(0, 8)) {
      const lastPos = (store.db.prepare('SELECT MAX(pos) AS p FROM events WHERE session = ?').get(session) as { p: number }).p;
      assert.deepEqual(outputs(await replay(session, true, undefined, lastPos)), outputs(await replay(session, false, undefined, lastPos)), session);
    }
  });

  it('stopped at a time, at an event of its own, at an event of another session: the same', async () => {
    const rows = store.db.prepare('SELECT id, session, pos FROM events ORDER BY pos').all() as { id: string; session: string; pos: number }[];
    for (const session of sessions.filter((_, i) => i % 3 === 0)) {
      const own = rows.filter((r) => r.session === session);
      const mid = own[Math.floor(own.length / 2)]!;
      const other = rows.find((r) => r.pos > mid.pos && r.session !== session)!;
      const times = (
        store.db.prepare("SELECT json_extract(body, '$.time') AS t FROM events WHERE session = ? ORDER BY pos").all(session) as { t: number }[]
      ).map((r) => r.t);
      const stops: ReplayStop[] = [
        { kind: 'event', id: mid.id },
        { kind: 'event', id: other.id },
        { kind: 'time', ms: times[Math.floor(times.length / 3)]! + 1 },
        { kind: 'time', ms: times.at(-1)! + 30_000 },
      ];
      for (const stop of stops) {
        const ticked = await replay(session, true, stop);
        const all = await replay(session, false, stop);
        assert.deepEqual(outputs(ticked), outputs(all), `${session} stopped at ${JSON.stringify(stop)}`);
        // Stopped by an event, both fed it last; by a time, the last thing fed before it differs (a tick or the session's event).
        if (stop.kind === 'event') assert.equal(ticked.position, all.position, `${session} stopped at ${JSON.stringify(stop)}: the same position`);
      }
    }
  });
});

describe('turnstream replay <session> on a trimmed log', () => {
  const bin = fileURLToPath(new URL('../../bin/turnstream.js', import.meta.url));
  const env = { ...process.env, TURNSTREAM_CONFIG: '', TURNSTREAM_PRICES: '', TURNSTREAM_KAFKA_BROKERS: '', TURNSTREAM_DATA_DIR: '' };
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'turnstream-trimmed-cli-'));
    const store = openEmbeddedStore({ dataDir: dir });
    const t0 = Date.parse('2026-03-02T10:00:00Z');
    const line = (id: string, session: string, type: string, t: number) => JSON.stringify({ v: 1, id, type, session, turn: 'x', time: t });
    const lines = [
      line('o1', 'old', 'turn.start', t0),
      line('b1', 'both', 'turn.start', t0 + 1000),
      line('o2', 'old', 'turn.end', t0 + 2000),
      line('b2', 'both', 'turn.end', t0 + 60_000),
      line('n1', 'new', 'turn.start', t0 + 61_000),
      line('n2', 'new', 'turn.end', t0 + 62_000),
    ];
    store.log.appendSync(lines.map((raw) => ({ event: parseLoggedEvent(raw), raw })));
    await store.log.trimBefore(t0 + 30_000, 6);
    store.close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('prints that the log was trimmed for a session that began before the trim point, and replays one that began after', () => {
    const run = (session: string) => spawnSync(process.execPath, [bin, 'replay', session, '--data-dir', dir, '--json'], { env, encoding: 'utf8' });
    const both = run('both');
    assert.notEqual(both.status, 0);
    assert.match(
      both.stderr,
      /the event log was trimmed through position 3 \(events up to 2026-03-02T10:00:02\.000Z\) by retention, so session "both", which has events before that point, cannot be replayed/,
    );
    const gone = run('old');
    assert.match(gone.stderr, /session "old", which has events before that point, cannot be replayed/);
    const fresh = run('new');
    assert.equal(fresh.status, 0, fresh.stderr);
    assert.equal((JSON.parse(fresh.stdout) as { turns: unknown[] }).turns.length, 1);
  });
});
