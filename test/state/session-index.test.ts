import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SessionTotals } from '../../src/model/session-totals.ts';
import { KafkaPartitionState } from '../../src/state/kafka-partition-state.ts';
import { SEP, type StoredRecord } from '../../src/state/kafka-state-records.ts';
import { SessionIndex } from '../../src/state/session-index.ts';
import { TOTALS_KEY } from '../../src/state/session-state-store.ts';
import { seeded } from '../streams/random-stream.ts';

const totals = (n: number, lastMs: number): SessionTotals => ({ turns: n, llmCalls: 2 * n, cost: n / 10, firstMs: 1_000, lastMs }) as unknown as SessionTotals;

/** State-topic records as the store writes them: values, tombstones (version in headers) and totals, with clashing versions. */
function records(seed: number): StoredRecord[] {
  const rand = seeded(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const out: StoredRecord[] = [];
  for (let n = 0; n < 400; n++) {
    const session = `s${Math.floor(rand() * 12)}`;
    if (rand() < 0.25) {
      // One position writes one totals per session: equal positions carry equal totals.
      const p = Math.floor(rand() * 50);
      out.push({ key: `${session}${SEP}${TOTALS_KEY}`, value: Buffer.from(JSON.stringify({ totals: totals(p, 5_000 + (p % 7) * 100), p })), headers: {} });
      continue;
    }
    // A version (time, seq, event id) is one write: its value, or its tombstone, is always the same.
    const version = { t: Math.floor(rand() * 5), s: Math.floor(rand() * 3), i: pick(['a', 'b', 'c', 'd']) };
    const name = pick(['plan', 'todo', 'note', 'ünïcode']);
    const key = `${session}${SEP}${name}`;
    if (version.i === 'd')
      out.push({ key, value: null, headers: { t: Buffer.from(String(version.t)), s: Buffer.from(String(version.s)), i: Buffer.from(version.i) } });
    else
      out.push({
        key,
        value: Buffer.from(JSON.stringify({ value: { at: [version.t, version.s, version.i, name], v: [1, 'x', null][version.t % 3] }, ...version })),
        headers: {},
      });
  }
  return out;
}

const byKey = <T>(xs: [string, T][]): [string, T][] => xs.sort(([a], [b]) => (a < b ? -1 : 1));

describe('SessionIndex: a pipeline view keeps session state and totals on disk, with the in-memory rules', () => {
  it('every entry, listing, totals, recent sessions and count equal the in-memory view, whatever the order', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const index = new SessionIndex();
      try {
        const memory = new KafkaPartitionState();
        const indexed = new KafkaPartitionState(undefined, 2, index);
        const recs = records(seed);
        for (const m of recs) memory.applyStateRecord(m);
        // The index gets them in another order, some twice (a re-read after our own apply), in batches.
        const rnd = seeded(seed * 31);
        const shuffled = [...recs, ...recs.slice(0, 50)]
          .map((m) => [rnd(), m] as const)
          .sort(([a], [b]) => a - b)
          .map(([, m]) => m);
        index.batch(() => {
          for (const m of shuffled.slice(0, 200)) indexed.applyStateRecord(m);
        });
        for (const m of shuffled.slice(200)) indexed.applyStateRecord(m);
        assert.equal(memory.keepsTurnRecords, true);
        for (let s = 0; s < 12; s++) {
          const session = `s${s}`;
          assert.deepEqual(byKey(indexed.entries(session)), byKey(memory.entries(session)), `seed ${seed}: ${session} entries`);
          for (const [key, entry] of memory.entries(session)) assert.deepEqual(indexed.entry(session, key), entry);
          assert.deepEqual(indexed.totalsOf(session), memory.totalsOf(session), `seed ${seed}: ${session} totals`);
        }
        const lastMs = (xs: { totals: SessionTotals }[]) => xs.map((x) => x.totals.lastMs);
        assert.deepEqual(lastMs(indexed.recent(5)), lastMs(memory.recent(5)), 'the same latest activity first');
        const [a, b] = [indexed.sizes(), memory.sizes()];
        assert.deepEqual([a.sessions, a.keys], [b.sessions, b.keys]);
        index.drop(2);
        assert.deepEqual([indexed.sizes().sessions, indexed.sizes().keys, indexed.recent(5).length], [0, 0, 0], 'a dropped partition is forgotten');
      } finally {
        index.close();
      }
    }
  });
});
