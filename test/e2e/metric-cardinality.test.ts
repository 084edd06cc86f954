import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as sc from '../../src/exporters/semconv.ts';
import { parsePromText, sumOf, type Sample } from '../helpers/prom-text.ts';
import { openHeapProbe } from '../helpers/inspector-heap.ts';
import { eventually, startTurnstreamProcess } from '../helpers/turnstream-process.ts';

const NAMES = 20_000;
const PER_BATCH = 1_000;
const WARM = 10_000;
const T0 = Date.parse('2026-03-02T10:00:00Z');

/**
 * One turn whose agent, model, tool and stop reason are all new names (the issue's attack), or,
 * with `n` fixed, the same traffic under one set of names (the warm-up).
 */
function turnEvents(i: number, n: number | string = i): string[] {
  const session = `s-${i}`;
  const time = new Date(T0 + i).toISOString();
  const base = { v: 1, session, time };
  return [
    { ...base, id: `${i}-a`, type: 'session.start', agent: `agent-${n}` },
    { ...base, id: `${i}-b`, type: 'turn.start', turn: 't' },
    { ...base, id: `${i}-c`, type: 'llm.usage', turn: 't', provider: 'anthropic', model: `model-${n}`, inputTokens: 10, outputTokens: 5, durationMs: 100 },
    { ...base, id: `${i}-d`, type: 'tool.start', turn: 't', toolCallId: 'c1', toolName: `tool-${n}` },
    { ...base, id: `${i}-e`, type: 'tool.end', turn: 't', toolCallId: 'c1', toolName: `tool-${n}`, durationMs: 5 },
    { ...base, id: `${i}-f`, type: 'turn.end', turn: 't', stopReason: `stop-${n}` },
  ].map((e) => JSON.stringify(e));
}

const rssBytes = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1]) * 1024;
};

async function post(url: string, lines: string[]): Promise<void> {
  const res = await fetch(`${url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: lines.join('\n') });
  assert.equal(res.status, 200, await res.text());
}

async function scrape(url: string): Promise<{ bytes: number; ms: number; samples: Sample[] }> {
  const t0 = performance.now();
  const res = await fetch(`${url}/metrics`);
  const text = await res.text();
  const ms = performance.now() - t0;
  assert.equal(res.status, 200);
  return { bytes: Buffer.byteLength(text), ms, samples: parsePromText(text) };
}

const distinct = (samples: readonly Sample[], label: string): number =>
  new Set(samples.filter((s) => s.labels[label] !== undefined).map((s) => s.labels[label])).size;

interface Run {
  scrapes: { names: number; bytes: number; ms: number; rss: number }[];
  rss0: number;
  /** Live JS heap of the server's main thread after a full collection, after the warm-up and at the end. */
  heap0: number;
  heap1: number;
  last: Sample[];
}

/**
 * Starts `turnstream start`, warms it up with WARM turns under one set of names (so the baseline
 * already holds what any traffic costs: SQLite page caches, the heap's working set), then sends
 * NAMES more turns named by `name(i)` and scrapes after every PER_BATCH of them, once aggregated.
 */
async function run(dir: string, name: (i: number) => number | string): Promise<Run> {
  // The inspector on a free loopback port, for the live heap (`openHeapProbe`).
  const ts = await startTurnstreamProcess(['--data-dir', join(dir, 'data')], { NODE_OPTIONS: '--inspect=127.0.0.1:0' });
  const probe = await openHeapProbe(ts.stderr).catch(async (error: unknown) => {
    await ts.stop();
    throw error;
  });
  try {
    const pid = ts.child.pid!;
    for (let sent = 0; sent < WARM; sent += 2 * PER_BATCH) {
      const body: string[] = [];
      for (let i = sent; i < sent + 2 * PER_BATCH; i++) body.push(...turnEvents(i, 'warm'));
      await post(ts.url, body);
    }
    await eventually('warm-up on /metrics', async () => sumOf((await scrape(ts.url)).samples, sc.PROM_TURNS) === WARM);
    // The heap first: its full collection gives memory back, and RSS is measured from there.
    const heap0 = await probe.liveBytes();
    const rss0 = rssBytes(pid);
    const scrapes: Run['scrapes'] = [];
    let last: Sample[] = [];
    for (let sent = 0; sent < NAMES; sent += PER_BATCH) {
      const body: string[] = [];
      for (let i = WARM + sent; i < WARM + sent + PER_BATCH; i++) body.push(...turnEvents(i, name(i - WARM)));
      await post(ts.url, body);
      const total = WARM + sent + PER_BATCH;
      await eventually(`${total} turns on /metrics`, async () => sumOf((await scrape(ts.url)).samples, sc.PROM_TURNS) === total);
      // Best of three: other processes share this machine's two cores; a slow exporter is slow every time.
      const s = [await scrape(ts.url), await scrape(ts.url), await scrape(ts.url)];
      scrapes.push({ names: sent + PER_BATCH, bytes: Math.max(...s.map((x) => x.bytes)), ms: Math.min(...s.map((x) => x.ms)), rss: rssBytes(pid) });
      last = s[0]!.samples;
    }
    assert.equal((await ts.health())['status'] ?? 'ok', 'ok');
    return { scrapes, rss0, heap0, heap1: await probe.liveBytes(), last };
  } finally {
    probe.close();
    await ts.stop();
  }
}

const growth = (r: Run): number => Math.max(...r.scrapes.map((s) => s.rss)) - r.rss0;
const mibOf = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const describeRun = (r: Run): string =>
  `${r.scrapes.map((s) => `${s.names}: ${(s.bytes / 1024).toFixed(0)} KiB ${s.ms.toFixed(0)} ms rss +${mibOf(s.rss - r.rss0)}`).join('\n')}\nlive heap ${mibOf(r.heap0)} → ${mibOf(r.heap1)}`;

describe('/metrics stays bounded whatever producers name (issue 9, item 5)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'turnstream-cardinality-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('20,000 distinct agent, model, tool and stop-reason names: every scrape < 1 MB and < 100 ms, live heap growth < 5 MiB and RSS growth < 150 MiB over the same traffic with fixed names', async () => {
    const attack = await run(join(dir, 'attack'), (i) => i);
    const control = await run(join(dir, 'control'), () => 'fixed');
    const report = `distinct names:\n${describeRun(attack)}\nfixed names:\n${describeRun(control)}`;
    for (const s of attack.scrapes) {
      assert.ok(s.bytes < 1_000_000, `scrape after ${s.names} names is ${s.bytes} bytes\n${report}`);
      assert.ok(s.ms < 100, `scrape after ${s.names} names took ${s.ms.toFixed(0)} ms\n${report}`);
    }
    // What the names cost: the growth beyond what the same traffic costs under fixed names, in live
    // heap after a full collection. RSS cannot tell: it follows when each process last collected
    // garbage and how full its SQLite page caches are; the same fixed-name traffic grew it by 113–173
    // MiB over seven CI runs (distinct minus fixed: −19 to +90 MiB over eight), so it failed at 50 MiB
    // on noise alone. The live heap: distinct names cost 1.2–1.3 MiB more (3 runs; every turn is still
    // held within its grace here, with its own name strings); with the caps lifted
    // (`--metric-label-values 1000000`) 9.3 MiB more. RSS keeps a bound for gross growth outside the heap.
    const extraHeap = attack.heap1 - attack.heap0 - (control.heap1 - control.heap0);
    assert.ok(extraHeap < 5 * 2 ** 20, `distinct names cost ${mibOf(extraHeap)} of live heap\n${report}`);
    const extra = growth(attack) - growth(control);
    assert.ok(extra < 150 * 2 ** 20, `distinct names cost ${mibOf(extra)} of RSS\n${report}`);

    const last = attack.last;
    // Nothing lost to folding: every turn, tool call and token is still counted, under `other`.
    assert.equal(sumOf(last, sc.PROM_TURNS), WARM + NAMES);
    assert.equal(sumOf(last, sc.PROM_TOOL_CALLS), WARM + NAMES);
    assert.equal(sumOf(last, sc.PROM_TOKENS, { turnstream_token_type: 'output' }), (WARM + NAMES) * 5);
    assert.ok(sumOf(last, sc.PROM_TOOL_CALLS, { gen_ai_tool_name: sc.LABEL_VALUE_OTHER }) > 0);
    // Each capped label keeps its first 200 values plus `other`.
    for (const label of ['gen_ai_request_model', 'gen_ai_agent_name', 'gen_ai_tool_name', 'turnstream_turn_stop_reason']) {
      assert.ok(distinct(last, label) <= 201, `${label}: ${distinct(last, label)} values`);
    }
    for (const label of [sc.ATTR_GEN_AI_REQUEST_MODEL, sc.ATTR_GEN_AI_AGENT_NAME, sc.ATTR_GEN_AI_TOOL_NAME, sc.ATTR_TURN_STOP_REASON]) {
      assert.ok(sumOf(last, sc.PROM_LABEL_VALUES_FOLDED, { turnstream_label: label }) > 0, `no folds counted for ${label}`);
    }
    console.log(report);
  });

  it('--metric-label-values sets the cap of a running server', async () => {
    const ts = await startTurnstreamProcess(['--data-dir', join(dir, 'setting'), '--metric-label-values', '2']);
    try {
      const body: string[] = [];
      for (let i = 0; i < 5; i++) body.push(...turnEvents(i));
      await post(ts.url, body);
      await eventually('5 turns on /metrics', async () => sumOf((await scrape(ts.url)).samples, sc.PROM_TURNS) === 5);
      const { samples } = await scrape(ts.url);
      const models = new Set(samples.filter((s) => s.name === sc.PROM_TOKENS).map((s) => s.labels['gen_ai_request_model']));
      assert.deepEqual([...models].sort(), ['model-0', 'model-1', sc.LABEL_VALUE_OTHER]);
      assert.ok(sumOf(samples, sc.PROM_LABEL_VALUES_FOLDED, { turnstream_label: sc.ATTR_GEN_AI_REQUEST_MODEL }) >= 3, 'models 2, 3 and 4 were folded');
    } finally {
      await ts.stop();
    }
  });
});
