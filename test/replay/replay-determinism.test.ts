import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { createPriceTable } from '../../src/events/price-table.ts';
import { createTelemetry, type Telemetry } from '../../src/exporters/create-telemetry.ts';
import { openEmbeddedPipeline } from '../../src/pipeline/open-embedded-pipeline.ts';
import { replayLog } from '../../src/replay/replay-log.ts';
import { replaySession } from '../../src/replay/replay-session.ts';
import { readReplayLogs } from '../../src/backend/read-replay-logs.ts';
import { sqliteFocusedRead } from '../../src/replay/sqlite-focused-read.ts';
import { splitNdjson } from '../../src/sources/split-ndjson.ts';
import { MemorySessionStateStore } from '../../src/state/memory-session-state-store.ts';
import { openEmbeddedStore, type EmbeddedStore } from '../../src/state/open-embedded-store.ts';
import type { TurnAggregate } from '../../src/model/turn-aggregate.ts';
import { assertSameSession, liveSpansOf, spanShape, spansOf } from './determinism-helpers.ts';
import { MESSY_WINDOWS, messyStream } from './messy-stream.ts';

const example = (name: string): string[] => splitNdjson(readFileSync(new URL(`../../examples/${name}.ndjson`, import.meta.url), 'utf8'));
const prices = createPriceTable();

interface Case {
  readonly name: string;
  readonly lines: readonly string[];
  readonly windows?: { turnIdleTimeoutMs: number; graceMs: number };
}

/** The state keys each session's events touch, for the tombstone comparison. */
function keysBySession(lines: readonly string[]): Map<string, Set<string>> {
  const keys = new Map<string, Set<string>>();
  for (const line of lines) {
    try {
      const e = JSON.parse(line) as { session?: string; key?: string; type?: string };
      if (e.session === undefined) continue;
      const set = keys.get(e.session) ?? new Set<string>();
      keys.set(e.session, set);
      if ((e.type === 'state.set' || e.type === 'state.delete') && e.key !== undefined) set.add(e.key);
    } catch {
      // the examples' deliberately broken line
    }
  }
  return keys;
}

/** A live run: the embedded pipeline, events ingested in uneven chunks (batch boundaries differ from replay's), spans captured. */
async function live(c: Case): Promise<{ dataDir: string; spans: ReadableSpan[]; telemetry: Telemetry }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'turnstream-replay-'));
  const exporter = new InMemorySpanExporter();
  const telemetry = await createTelemetry({ version: 'test', spanExporter: exporter, env: {} });
  const p = await openEmbeddedPipeline({ dataDir, prices, telemetry, ...c.windows });
  const sizes = [1, 7, 23, 3, 50, 11];
  for (let i = 0, k = 0; i < c.lines.length; k++) {
    const n = sizes[k % sizes.length]!;
    await p.ingestor.ingest(c.lines.slice(i, i + n), 'test');
    if (k % 3 === 0) await p.pump.idle();
    i += n;
  }
  await p.close();
  await telemetry.forceFlush();
  const spans = exporter.getFinishedSpans();
  return { dataDir, spans, telemetry };
}

const cases: Case[] = [
  {
    name: 'the shipped examples (coding-session, concurrent-turns, messy-delivery)',
    lines: ['coding-session', 'concurrent-turns', 'messy-delivery'].flatMap(example),
  },
  ...[1, 2, 3].map((seed) => ({
    name: `a messy multi-session stream (seed ${seed}): out of order, re-sent, late, abandoned, revised`,
    lines: messyStream({ seed }).lines,
    windows: MESSY_WINDOWS,
  })),
];

for (const c of cases) {
  describe(`replay reproduces the live run: ${c.name}`, () => {
    let run: Awaited<ReturnType<typeof live>>;
    let store: EmbeddedStore;
    const keys = keysBySession(c.lines);
    before(async () => {
      run = await live(c);
      store = openEmbeddedStore({ dataDir: run.dataDir });
    });
    after(async () => {
      store.close();
      await run.telemetry.shutdown();
      rmSync(run.dataDir, { recursive: true, force: true });
    });

    it('each session replayed alone: same turns, totals, state and tombstones, same spans (ids included) in the same order, same late events', async () => {
      const logs = await readReplayLogs({ dataDir: run.dataDir });
      const ctx = { resource: run.telemetry.resource, scope: run.telemetry.scope };
      const lateLive = await store.deadLetters.list({ reason: 'late', limit: 10_000 });
      try {
        for (const [session, sessionKeys] of keys) {
          const emitted: TurnAggregate[] = [];
          const extent = await logs.extent!(session);
          const r = await replaySession({
            log: store.log,
            session,
            prices,
            ...(c.windows === undefined ? {} : { windows: c.windows }),
            ...(extent === undefined ? {} : { lastPos: extent.lastPos }),
            onAggregate: (a) => emitted.push(a),
          });
          await assertSameSession(store.state, r, [...sessionKeys]);
          assert.deepEqual(spansOf(emitted, ctx), liveSpansOf(run.spans, session), `${session}: spans`);
          assert.deepEqual(
            r.letters
              .filter((l) => l.reason === 'late')
              .map((l) => l.eventId)
              .sort(),
            lateLive
              .filter((l) => l.session === session)
              .map((l) => l.eventId)
              .sort(),
            `${session}: late events`,
          );
          // The embedded log's faster read (other sessions' times from SQLite, unparsed) gives the same.
          const focused: TurnAggregate[] = [];
          const viaSql = await replaySession({
            log: store.log,
            focusedRead: sqliteFocusedRead(store.log),
            session,
            prices,
            ...(c.windows === undefined ? {} : { windows: c.windows }),
            ...(extent === undefined ? {} : { lastPos: extent.lastPos }),
            onAggregate: (a) => focused.push(a),
          });
          const noClock = (x: typeof r) => ({ ...x, letters: x.letters.map(({ at: _at, ...l }) => l) }); // `at` is arrival (wall) time
          // The ticked read feeds the clock ticks, not every event: what it fed (and so where it last fed) differs, nothing else.
          const outputs = ({ fed: _fed, position: _position, ...x }: typeof r) => noClock({ ...x, fed: 0, position: 0 });
          assert.deepEqual(outputs(viaSql), outputs(r), `${session}: focused read`);
          assert.ok(viaSql.fed <= r.fed, `${session}: the focused read feeds no more than the whole log (${viaSql.fed} vs ${r.fed})`);
          assert.deepEqual(focused, emitted);
          // Stopping once the session is settled gives the same as reading the whole log.
          const whole = await replaySession({ log: store.log, session, prices, ...(c.windows === undefined ? {} : { windows: c.windows }) });
          assert.deepEqual(whole.turns, r.turns, `${session}: settled early = read to the end`);
          assert.deepEqual(whole.open, r.open);
          assert.equal(whole.ended, 'end');
        }
      } finally {
        await logs.close();
      }
    });

    if (c.windows !== undefined) {
      it("needs the whole log: the session's own events alone close its turns differently (the watermark is global)", async () => {
        let differs = 0;
        for (const session of keys.keys()) {
          const own = { dedupesOnAppend: true, read: (o?: { batchSize?: number }) => store.log.read({ ...o, session }) };
          const alone = await replaySession({ log: own, session, prices, windows: c.windows! });
          const whole = await replaySession({ log: store.log, session, prices, windows: c.windows! });
          if (JSON.stringify([alone.turns, alone.letters.map((l) => l.eventId)]) !== JSON.stringify([whole.turns, whole.letters.map((l) => l.eventId)]))
            differs++;
        }
        assert.ok(differs > 0, 'some session must differ when replayed from its own events only');
      });
    }

    it('all sessions replayed at once (real events, no stand-ins): the same aggregates in the same order as live, same spans, same stored results', async () => {
      const ctx = { resource: run.telemetry.resource, scope: run.telemetry.scope };
      const emitted: TurnAggregate[] = [];
      const state = new MemorySessionStateStore();
      const r = await replayLog({
        log: store.log,
        prices,
        state,
        ...(c.windows === undefined ? {} : { windows: c.windows }),
        onAggregate: (a) => emitted.push(a),
      });
      assert.equal(r.ended, 'end');
      assert.deepEqual(spansOf(emitted, ctx), run.spans.map(spanShape));
      for (const session of keys.keys()) {
        assert.deepEqual(await state.turns(session), await store.state.turns(session), `${session}: turns`);
        assert.deepEqual(await state.totals(session), await store.state.totals(session), `${session}: totals`);
        assert.deepEqual(await state.list(session), await store.state.list(session), `${session}: state`);
      }
      assert.deepEqual(await state.sessions(), await store.state.sessions());
    });
  });
}
