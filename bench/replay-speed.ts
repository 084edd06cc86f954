/**
 * Replay speed (DESIGN.md §9: replay ≥ 500k events/s), standalone:
 *
 *   node --expose-gc bench/replay-speed.ts [--events N] [--sessions N] [--runs N] [--profile] [--json FILE]
 *
 * Builds two embedded logs from the benchmark workload (bench/workload.ts) and times replay as
 * `turnstream replay` runs it (src/replay: the live Processor over an in-memory store):
 *  - read + parse: the log's own read path, the ceiling for anything that parses every event;
 *  - one large session: a log holding a single session (every event is that session's);
 *  - one session of many: one session replayed from the many-session log (the whole log up to
 *    its last event is read: other sessions as watermark stand-ins), plus the extent scan;
 *  - backfill: every session of the many-session log re-derived and re-priced (`--all`);
 *  - full re-derivation: every session into an in-memory store (state and turns kept).
 * With --profile, one run of the single-session and backfill cases is CPU-profiled in-process and
 * summarised (top functions and files by self time).
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { parseArgs } from 'node:util';
import { createPriceTable } from '../src/events/price-table.ts';
import { backfill } from '../src/replay/backfill.ts';
import { readReplayLogs } from '../src/backend/read-replay-logs.ts';
import { replayLog } from '../src/replay/replay-log.ts';
import { replaySession } from '../src/replay/replay-session.ts';
import { MemorySessionStateStore } from '../src/state/memory-session-state-store.ts';
import { openEmbeddedStore } from '../src/state/open-embedded-store.ts';
import { hasGc, repeat, secondsSince, tempDataDir, type RateSummary, type Sample } from './measure.ts';
import { summarizeProfile, type ProfileRow } from './summarize-cpu-profile.ts';
import { generateWorkload } from './workload.ts';

const TARGET = 500_000;
const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    sessions: { type: 'string', default: '2000' },
    runs: { type: 'string', default: '3' },
    profile: { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});
const EVENTS = Number(args.events);
const SESSIONS = Number(args.sessions);
const RUNS = Number(args.runs);
const prices = createPriceTable();
const note = (msg: string): void => void process.stderr.write(`[replay-speed] ${msg}\n`);

/** Appends lines to a fresh embedded log (straight into the log: what ingest leaves behind). */
function buildLog(lines: readonly string[]): { dir: string; remove(): void } {
  const d = tempDataDir('turnstream-replay-bench-');
  const store = openEmbeddedStore({ dataDir: d.dir });
  for (let i = 0; i < lines.length; i += 5000) store.log.appendSync(lines.slice(i, i + 5000).map((raw) => ({ event: JSON.parse(raw), raw })));
  store.close();
  return d;
}

/** The workload's sessions folded into ONE session (turn ids kept distinct), one session.start. */
function singleSession(lines: readonly string[]): string[] {
  const out: string[] = [];
  for (const line of lines) {
    const e = JSON.parse(line) as Record<string, unknown>;
    if (e['type'] === 'session.end' || (e['type'] === 'session.start' && out.length > 0)) continue;
    if (typeof e['turn'] === 'string') e['turn'] = `${String(e['session'])}/${e['turn']}`;
    e['session'] = 'big-session';
    out.push(JSON.stringify(e));
  }
  return out;
}

interface Row {
  readonly stage: string;
  readonly summary: RateSummary;
  readonly notes: string;
}
const rows: Row[] = [];
const measure = async (stage: string, run: () => Promise<Sample>, notes: (s: RateSummary) => string = () => ''): Promise<RateSummary> => {
  note(`${stage} …`);
  const summary = await repeat(RUNS, run);
  rows.push({ stage, summary, notes: notes(summary) });
  return summary;
};
const timed = async (count: number, fn: () => Promise<unknown>): Promise<Sample> => {
  const t = process.hrtime.bigint();
  await fn();
  return { seconds: secondsSince(t), count };
};

async function profiled(label: string, fn: () => Promise<unknown>): Promise<{ label: string; totalMs: number; functions: ProfileRow[]; groups: ProfileRow[] }> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
    await fn();
    const { profile } = await session.post('Profiler.stop');
    const s = summarizeProfile(profile as unknown as Parameters<typeof summarizeProfile>[0], 14);
    // Profiler.stop's own serialisation is sampled too (as node:inspector `post`): not replay's time.
    const inspector = s.groups.find((g) => g.name === 'node:inspector')?.selfMs ?? 0;
    const totalMs = s.totalMs - inspector;
    const rescale = (rows: ProfileRow[]): ProfileRow[] =>
      rows.filter((r) => !r.where.startsWith('node:inspector') && r.name !== 'node:inspector').map((r) => ({ ...r, selfPct: (r.selfMs / totalMs) * 100 }));
    return { label, totalMs, functions: rescale(s.functions).slice(0, 12), groups: rescale(s.groups) };
  } finally {
    session.disconnect();
  }
}

async function main(): Promise<void> {
  if (!hasGc()) note('run with --expose-gc for a GC between runs');
  let t = process.hrtime.bigint();
  const { lines, stats } = generateWorkload({ events: EVENTS, sessions: SESSIONS, seed: 42 });
  note(
    `workload: ${EVENTS.toLocaleString('en')} events, ${stats.sessionsStarted} sessions, ${stats.turnsClosed} turns closed, ${Math.round(stats.bytes / stats.events)} B/event (${secondsSince(t).toFixed(1)} s)`,
  );
  t = process.hrtime.bigint();
  const many = buildLog(lines);
  const single = buildLog(singleSession(lines));
  note(`logs written (${secondsSince(t).toFixed(1)} s)`);
  const profiles = [];
  try {
    const manyStore = openEmbeddedStore({ dataDir: many.dir });
    const singleStore = openEmbeddedStore({ dataDir: single.dir });
    const logs = await readReplayLogs({ dataDir: many.dir });
    const events = manyStore.log.headSync();
    const singleEvents = singleStore.log.headSync();

    // A session whose last event is near the middle of the log: the replay reads up to there.
    const middle = manyStore.db.prepare('SELECT session FROM events WHERE pos = ?').get(Math.floor(events / 2)) as { session: string };
    const extent = (await logs.extent!(middle.session))!;

    await measure('read + parse the log (ceiling)', () =>
      timed(events, async () => {
        for await (const _batch of manyStore.log.read()) void _batch;
      }),
    );

    const big = await measure(
      'one large session (every event its own)',
      () => timed(singleEvents, () => replaySession({ log: singleStore.log, session: 'big-session', prices })),
      () => `${singleEvents.toLocaleString('en')} events of one session`,
    );
    await measure(
      'one session of many, generic read (parses every event)',
      async () => {
        const t0 = process.hrtime.bigint();
        const r = await replaySession({ log: manyStore.log, session: middle.session, prices, lastPos: extent.lastPos });
        return { seconds: secondsSince(t0), count: r.fed };
      },
      () => "the EventLog port's read, stand-ins built after parsing (what the Kafka log does)",
    );

    let extentSeconds = 0,
      read = 0;
    await measure(
      'one session of many (log events read / s), as the CLI runs it',
      async () => {
        const t0 = process.hrtime.bigint();
        const e = (await logs.extent!(middle.session))!;
        extentSeconds = secondsSince(t0);
        const opened = await logs.forSession(middle.session);
        const r = await replaySession({
          log: opened.log,
          ...(opened.focusedRead === undefined ? {} : { focusedRead: opened.focusedRead }),
          session: middle.session,
          prices,
          lastPos: e.lastPos,
        });
        read = r.fed;
        return { seconds: secondsSince(t0), count: r.fed };
      },
      () =>
        `${extent.events} events of the session, ${read.toLocaleString('en')} read (to its last, +settle); incl. extent scan ${(extentSeconds * 1000).toFixed(0)} ms`,
    );

    const back = await measure(
      'backfill: all sessions re-derived + re-priced',
      () =>
        timed(events, async () => {
          const s = await backfill({ logs: await logs.all(), prices, recorded: async () => [] });
          if (s.events !== events) throw new Error(`backfill replayed ${s.events} of ${events}`);
        }),
      () => `${SESSIONS} concurrent sessions; turns in range kept, nothing else`,
    );

    await measure(
      'full re-derivation into a memory store',
      () => timed(events, () => replayLog({ log: manyStore.log, prices, state: new MemorySessionStateStore() })),
      () => 'state, totals, turn records kept for every session',
    );

    if (args.profile) {
      profiles.push(
        await profiled(`one large session (${Math.round(big.best / 1000)}k events/s unprofiled)`, () =>
          replaySession({ log: singleStore.log, session: 'big-session', prices }),
        ),
      );
      profiles.push(
        await profiled(`backfill (${Math.round(back.best / 1000)}k events/s unprofiled)`, async () =>
          backfill({ logs: await logs.all(), prices, recorded: async () => [] }),
        ),
      );
    }
    await logs.close();
    manyStore.close();
    singleStore.close();
  } finally {
    many.remove();
    single.remove();
  }

  const k = (n: number): string => `${Math.round(n / 1000)}k`;
  const lines2 = [`replay speed (target ≥ ${k(TARGET)} events/s), ${RUNS} runs, best / median:`];
  for (const r of rows)
    lines2.push(
      `  ${r.stage.padEnd(48)} ${k(r.summary.best).padStart(6)} / ${k(r.summary.median).padStart(6)} events/s  ${r.summary.best >= TARGET ? 'OK   ' : 'SHORT'}  ${r.notes}`,
    );
  for (const p of profiles) {
    lines2.push('', `profile: ${p.label}, ${p.totalMs.toFixed(0)} ms sampled`);
    for (const f of p.functions) lines2.push(`  ${f.selfPct.toFixed(1).padStart(5)} %  ${f.name}${f.where === '' ? '' : `  (${f.where})`}`);
    lines2.push('  by file:');
    for (const g of p.groups.slice(0, 8)) lines2.push(`  ${g.selfPct.toFixed(1).padStart(5)} %  ${g.name}`);
  }
  process.stdout.write(`${lines2.join('\n')}\n`);
  if (args.json !== undefined) writeFileSync(args.json, JSON.stringify({ events: EVENTS, sessions: SESSIONS, runs: RUNS, rows, profiles }, null, 2));
}

await main();
