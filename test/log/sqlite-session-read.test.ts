import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseLoggedEvent } from '../../src/events/parse-logged-event.ts';
import type { LoggedEvent } from '../../src/events/step-event.ts';
import type { AppendInput } from '../../src/log/event-log.ts';
import type { ReadStop } from '../../src/log/read-session-ticked.ts';
import { openEmbeddedStore, type EmbeddedStore } from '../../src/state/open-embedded-store.ts';

const T0 = Date.parse('2026-03-02T10:00:00.000Z');
const SWEEP = 5000;

/** Seeded: sessions interleaved, several events per second, some times behind the clock, some far ahead. */
function history(seed: number, n: number, sessions: number): { session: string; timeMs: number; id: string }[] {
  let a = seed;
  const rnd = (): number => {
    a = (a * 1103515245 + 12345) % 2147483648;
    return a / 2147483648;
  };
  const out: { session: string; timeMs: number; id: string }[] = [];
  let t = T0;
  for (let i = 0; i < n; i++) {
    t += Math.floor(rnd() * 700);
    const late = rnd() < 0.1 ? Math.floor(rnd() * 20_000) : 0;
    const jump = rnd() < 0.01 ? 60_000 : 0;
    t += jump;
    // Sessions come and go: each is active in a window of the history.
    const s = Math.min(sessions - 1, Math.floor((i / n) * sessions + rnd() * 3));
    out.push({ session: `s${s}`, timeMs: t - late, id: `e${i}` });
  }
  return out;
}

const asInput = (e: { session: string; timeMs: number; id: string }): AppendInput => {
  const raw = JSON.stringify({ v: 1, id: e.id, type: 'session.start', session: e.session, time: e.timeMs });
  return { event: parseLoggedEvent(raw), raw };
};

type Item = [pos: number, kind: 'row' | 'tick' | 'skim', id: string, timeMs: number];

const options = (batchSize: number, stop?: ReadStop) => ({
  batchSize,
  sweepMs: SWEEP,
  tick: (pos: number, clockMs: number): LoggedEvent => ({ pos, event: { id: `tick`, session: '', timeMs: clockMs } as LoggedEvent['event'] }),
  skim: (pos: number, id: string, timeMs: number): LoggedEvent => ({
    pos,
    event: { id, session: '', timeMs, skimmed: true } as unknown as LoggedEvent['event'],
  }),
  ...(stop === undefined ? {} : { stop }),
});

const itemOf = ({ pos, event }: LoggedEvent): Item => [
  pos,
  event.session !== '' ? 'row' : (event as unknown as { skimmed?: boolean }).skimmed ? 'skim' : 'tick',
  event.id,
  event.timeMs,
];

/** What `readSession` must yield, from the rule: the session's rows and the ticks, from the tick opening the sweep interval before its first row. */
function expected(events: readonly { session: string; timeMs: number; id: string }[], session: string, ticksThrough = events.length): Item[] {
  const ticks = new Map<number, number>();
  let clock = Number.NEGATIVE_INFINITY;
  events.forEach((e, i) => {
    if (Math.floor(e.timeMs / 1000) > Math.floor(clock / 1000)) ticks.set(i + 1, e.timeMs);
    clock = Math.max(clock, e.timeMs);
  });
  const own = events.findIndex((e) => e.session === session);
  const first = Math.min(own < 0 ? Number.POSITIVE_INFINITY : own + 1, ticksThrough + 1);
  const before = [...ticks].filter(([pos]) => pos < first);
  let start = 1;
  if (before.length > 0) {
    const interval = Math.floor(before.at(-1)![1] / SWEEP);
    start = before.find(([, wm]) => Math.floor(wm / SWEEP) === interval)![0];
  }
  const out: Item[] = [];
  events.forEach((e, i) => {
    const pos = i + 1;
    if (pos < start || pos > ticksThrough) return;
    if (e.session === session) out.push([pos, 'row', e.id, e.timeMs]);
    else if (ticks.has(pos)) out.push([pos, 'tick', 'tick', ticks.get(pos)!]);
  });
  return out;
}

async function collect(it: AsyncIterable<LoggedEvent[]>, max?: number): Promise<{ items: Item[]; sizes: number[] }> {
  const items: Item[] = [];
  const sizes: number[] = [];
  for await (const batch of it) {
    sizes.push(batch.length);
    if (max !== undefined) assert.ok(batch.length <= max, `batch of ${batch.length} > ${max}`);
    items.push(...batch.map(itemOf));
  }
  return { items, sizes };
}

describe('SqliteEventLog.readSession: one session through the index, with the clock ticks', () => {
  const events = history(7, 3000, 40);
  let dir: string;
  let store: EmbeddedStore;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'turnstream-session-read-'));
    store = openEmbeddedStore({ dataDir: dir });
    for (let i = 0; i < events.length; i += 250) store.log.appendSync(events.slice(i, i + 250).map(asInput));
  });
  after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("yields exactly the session's rows and the ticks, in log order, from the opening of its first sweep interval, in batches of at most batchSize", async () => {
    for (const session of ['s0', 's1', 's17', 's39']) {
      for (const size of [7, 5000]) {
        const { items } = await collect(store.log.readSession(session, options(size)), size);
        assert.deepEqual(items, expected(events, session), `${session}, batches of ${size}`);
      }
    }
  });

  it('the query plan uses the session index (segment, session), with the position range', () => {
    const plan = store.db
      .prepare('EXPLAIN QUERY PLAN SELECT pos, body FROM events WHERE (pos >> 14) = ? AND session = ? AND pos > ? AND pos <= ? ORDER BY pos LIMIT ?')
      .all(0, 's1', 0, 10, 10);
    assert.match(JSON.stringify(plan), /USING INDEX events_by_segment_session \(<expr>=\? AND session=\? AND rowid>\? AND rowid<\?\)/);
  });

  it("a stop at another session's event yields that event (its id, its time) in place; a stop at the session's own adds nothing", async () => {
    const mine = events.filter((e) => e.session === 's20');
    const other = events.find((e, i) => e.session !== 's20' && i > events.indexOf(mine[3]!))!;
    const pos = events.indexOf(other) + 1;
    assert.ok(pos < events.indexOf(mine.at(-1)!) + 1);
    const { items } = await collect(store.log.readSession('s20', options(50, { kind: 'event', id: other.id })));
    const base = expected(events, 's20').filter(([p]) => p !== pos);
    const at = base.findIndex(([p]) => p > pos);
    assert.deepEqual(items, [...base.slice(0, at), [pos, 'skim', other.id, other.timeMs], ...base.slice(at)]);
    const own = await collect(store.log.readSession('s20', options(50, { kind: 'event', id: mine[2]!.id })));
    assert.deepEqual(own.items, expected(events, 's20'));
  });

  it('a stop at a time yields the first event later than it, wherever it is logged (a replay stops there)', async () => {
    for (const session of ['s5', 's30']) {
      const mine = events.filter((e) => e.session === session);
      const ms = mine[Math.floor(mine.length / 2)]!.timeMs + 333;
      const firstLater = events.findIndex((e) => e.timeMs > ms);
      const { items } = await collect(store.log.readSession(session, options(50, { kind: 'time', ms })));
      const upTo = items.findIndex(([, , , t]) => t > ms);
      assert.ok(upTo >= 0, 'something later than the stop time is yielded');
      assert.equal(items[upTo]![0], firstLater + 1, `${session}: the first later event in log order`);
      assert.equal(items[upTo]![3], events[firstLater]!.timeMs);
    }
  });

  it('a session with no events yields nothing (only a stop event, when asked)', async () => {
    assert.deepEqual((await collect(store.log.readSession('nobody', options(10)))).items, []);
    const { items } = await collect(store.log.readSession('nobody', options(10, { kind: 'event', id: 'e100' })));
    assert.deepEqual(items, [[101, 'skim', 'e100', events[100]!.timeMs]]);
  });

  it('rows past the ticks (a reader on a store no writer of this version has opened) are read whole, as the old walk', async () => {
    const d = mkdtempSync(join(tmpdir(), 'turnstream-session-read-old-'));
    const s = openEmbeddedStore({ dataDir: d });
    try {
      s.log.appendSync(events.slice(0, 400).map(asInput));
      // As if the last 100 rows were logged by a writer that kept no ticks.
      s.db.prepare("UPDATE log_meta SET value = 300 WHERE key = 'ticks_through'").run();
      s.db.prepare('DELETE FROM clock_ticks WHERE pos > 300').run();
      const session = events[350]!.session;
      const { items } = await collect(s.log.readSession(session, options(64)));
      const ticked = expected(events.slice(0, 400), session, 300);
      const walked: Item[] = events
        .slice(300, 400)
        .map((e, i): Item => (e.session === session ? [i + 301, 'row', e.id, e.timeMs] : [i + 301, 'skim', e.id, e.timeMs]));
      assert.deepEqual(items, [...ticked, ...walked]);
    } finally {
      s.close();
      rmSync(d, { recursive: true, force: true });
    }
  });
});
