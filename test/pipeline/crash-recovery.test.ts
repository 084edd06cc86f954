import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPriceTable } from '../../src/events/price-table.ts';
import { openEmbeddedPipeline, type EmbeddedPipeline } from '../../src/pipeline/open-embedded-pipeline.ts';
import { openEmbeddedStore } from '../../src/state/open-embedded-store.ts';
import { BASE_MS, expectedTotals, generateStream, idOf, SESSIONS, TURNS } from '../fixtures/agent-stream.ts';

const CHILD = new URL('../fixtures/ingest-child.ts', import.meta.url).pathname;
const STREAM = generateStream();
const N = STREAM.length;
/** Per session: session.start, 11 events per turn, scratch set, two tie writes, delete + stale set, session.end. */
const EVENTS_PER_SESSION = 1 + 11 * TURNS + 1 + 2 + 2 + 1;

interface ChildRun {
  readonly lastAck: number;
  readonly signal: NodeJS.Signals | null;
  readonly pid: number;
  readonly stdout: string;
}

/**
 * Runs the ingesting child. If `killAfterAck` is given, SIGKILLs it as soon as it has acknowledged
 * that stream index. Resolves once the child is gone and reaped (a zombie's pid still looks alive).
 */
function runChild(dataDir: string, args: string[], killAfterAck?: number, checkpointEvery?: number): Promise<ChildRun> {
  const env = checkpointEvery === undefined ? process.env : { ...process.env, TURNSTREAM_TEST_CHECKPOINT_EVERY: String(checkpointEvery) };
  const child = spawn(process.execPath, [CHILD, dataDir, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stdout = '';
  let stderr = '';
  let lastAck = -1;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    for (const m of chunk.matchAll(/^ack (\d+)$/gm)) lastAck = Math.max(lastAck, Number(m[1]));
    if (killAfterAck !== undefined && lastAck >= killAfterAck) child.kill('SIGKILL');
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code !== null && code !== 0) reject(new Error(`child exited with ${code}: ${stderr}`));
      else resolve({ lastAck, signal, pid: child.pid!, stdout });
    });
  });
}

/** After the crash: every acknowledged event is durable, the log is a prefix of the stream. */
async function checkDurable(dataDir: string, run: ChildRun): Promise<{ head: number; position: number }> {
  assert.equal(run.signal, 'SIGKILL', `the child must die by SIGKILL mid-stream (stdout tail: ${run.stdout.slice(-40)})`);
  assert.ok(!run.stdout.includes('done'), 'the child did not finish the stream');
  assert.ok(run.lastAck >= 0 && run.lastAck < N - 1, `killed mid-stream (last ack ${run.lastAck} of ${N - 1})`);
  assert.equal(readFileSync(join(dataDir, 'turnstream.lock'), 'utf8'), String(run.pid), 'the killed process left its lock');
  const store = openEmbeddedStore({ dataDir }); // a reader needs no lock
  try {
    const logged: string[] = [];
    for await (const batch of store.log.read({ batchSize: 100 })) for (const l of batch) logged.push(l.event.id);
    const head = logged.length;
    assert.ok(head >= run.lastAck + 1, `all ${run.lastAck + 1} acknowledged events are in the log (found ${head})`);
    assert.deepEqual(logged, STREAM.slice(0, head).map(idOf), 'the log holds the stream prefix, each event once');
    assert.equal(await store.log.head(), head);
    const position = await store.state.position();
    assert.ok(position <= head, `committed position ${position} is within the log (head ${head})`);
    return { head, position };
  } finally {
    store.close();
  }
}

/** Restart after the crash, re-send the WHOLE stream (at-least-once source), and check exact totals. */
async function recoverAndCheck(dataDir: string, head: number, checkpointEvery?: number): Promise<void> {
  const options = { dataDir, prices: createPriceTable(), ...(checkpointEvery === undefined ? {} : { checkpoints: { everyEvents: checkpointEvery } }) };
  let pipeline: EmbeddedPipeline | undefined = await openEmbeddedPipeline(options);
  try {
    assert.equal(readFileSync(join(dataDir, 'turnstream.lock'), 'utf8'), String(process.pid), 'the stale lock was taken over');
    assert.equal(pipeline.processor.position, head, 'start() caught up with the log');
    for (let from = 0; from < N; from += 37) {
      const results = await pipeline.ingestor.ingest(STREAM.slice(from, from + 37), 'file:replay.ndjson');
      for (const r of results) assert.equal(r.status, from + r.index < head ? 'duplicate' : 'accepted', `stream index ${from + r.index}`);
    }
    await pipeline.pump.idle();
    assert.equal(pipeline.pump.failure, undefined);
    await checkFinal(pipeline, head);
    await pipeline.close();
    // A clean restart (from the final checkpoint, or the log when checkpoints are off): still nothing counted twice.
    pipeline = await openEmbeddedPipeline(options);
    await checkFinal(pipeline, head);
  } finally {
    await pipeline.close();
  }
}

async function checkFinal(pipeline: EmbeddedPipeline, duplicates: number): Promise<void> {
  const { log, state, deadLetters } = pipeline.store;
  assert.equal(N, SESSIONS * EVENTS_PER_SESSION);
  assert.equal(await log.head(), N, 'every event is in the log exactly once');
  assert.equal(await state.position(), N, 'every event is processed');
  assert.deepEqual(await deadLetters.countByReason(), duplicates === 0 ? {} : { duplicate: duplicates }, 'only the re-sent duplicates were rejected');
  const summaries = await state.sessions();
  assert.equal(summaries.length, SESSIONS);
  for (let s = 0; s < SESSIONS; s++) {
    const session = `sess-${s}`;
    const totals = await state.totals(session);
    assert.ok(totals !== undefined, `${session} has totals`);
    const { cost, firstMs, lastMs, ...counts } = totals;
    const { cost: expectedCost, ...expectedCounts } = expectedTotals(s);
    assert.deepEqual(counts, expectedCounts, `${session} counts`);
    assert.ok(Math.abs(cost - expectedCost) < 1e-9, `${session} cost ${cost}, expected ${expectedCost}`);
    // The block of turn t of session s starts at BASE + (t·SESSIONS + s)·200 ms, its events 10 ms apart
    // (those with a time of their own, `note` and the stale `scratch`, take no step). In turn 0,
    // turn.start is step 1 (after session.start); in the last turn, turn.end is step 10 (after the delete).
    assert.equal(firstMs, BASE_MS + s * 200 + 10, `${session} first turn starts after session.start`);
    assert.equal(lastMs, BASE_MS + ((TURNS - 1) * SESSIONS + s) * 200 + 10 * 10, `${session} last turn ends at its turn.end`);
    assert.deepEqual(summaries.find((x) => x.session === session)?.totals, totals);

    assert.deepEqual(await state.list(session), { progress: TURNS - 1, note: 0, tie: 'b' }, `${session} state`);
    assert.equal((await state.get(session, 'scratch'))?.deleted, true, `${session} scratch stays deleted`);
    const turns = await state.turns(session);
    assert.deepEqual(
      turns.map((t) => [t.turn, t.revision, t.status, t.llmCalls, t.toolCalls]),
      Array.from({ length: TURNS }, (_, t) => [`turn-${t}`, 0, 'completed', 3, 2]),
    );
    assert.deepEqual(
      turns.map((t) => t.agent),
      Array.from({ length: TURNS }, () => `agent-${s % 2}`),
    );
  }
}

describe('crash recovery: kill -9, restart, re-send everything', { timeout: 60_000 }, () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'turnstream-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('the generator is what the expectations assume', () => {
    assert.equal(N, SESSIONS * EVENTS_PER_SESSION);
    assert.equal(new Set(STREAM.map(idOf)).size, N, 'ids are unique');
  });

  it('without a crash, the stream gives exactly the expected totals and state', async () => {
    const run = await runChild(dataDir, ['25']);
    assert.equal(run.signal, null);
    assert.equal(run.lastAck, N - 1);
    const pipeline = await openEmbeddedPipeline({ dataDir, prices: createPriceTable() });
    try {
      await checkFinal(pipeline, 0);
    } finally {
      await pipeline.close();
    }
  });

  it('killed by the parent after a third of the acks: nothing acknowledged is lost, nothing counted twice', async () => {
    const run = await runChild(dataDir, ['4'], Math.floor(N / 3));
    const { head } = await checkDurable(dataDir, run);
    await recoverAndCheck(dataDir, head);
  });

  it('killed inside a state commit (processing mid-transaction): the commit is rolled back and redone once', async () => {
    const run = await runChild(dataDir, ['4', 'crash-in-commit=12']);
    const { head, position } = await checkDurable(dataDir, run);
    assert.ok(position < head, `acknowledged events (up to ${head}) await processing beyond the committed ${position}`);
    assert.ok(position > 0, 'earlier commits are durable');
    await recoverAndCheck(dataDir, head);
  });

  it('killed at several points of the stream, it always converges to the same totals', async () => {
    for (const killAfterAck of [0, 57, Math.floor((2 * N) / 3)]) {
      rmSync(dataDir, { recursive: true, force: true });
      const run = await runChild(dataDir, ['3'], killAfterAck);
      const { head } = await checkDurable(dataDir, run);
      await recoverAndCheck(dataDir, head);
    }
  });
});

describe('crash recovery with a checkpoint every few events: kill -9 at many points', { timeout: 120_000 }, () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'turnstream-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('restores from the last checkpoint after each kill and always converges to the same totals', async () => {
    for (const killAfterAck of [3, 31, 88, Math.floor(N / 2), Math.floor((3 * N) / 4), N - 20]) {
      rmSync(dataDir, { recursive: true, force: true });
      const run = await runChild(dataDir, ['3'], killAfterAck, 5);
      const { head } = await checkDurable(dataDir, run);
      await recoverAndCheck(dataDir, head, 5);
    }
  });

  it('killed inside a commit (with a checkpoint every 5 events most commits carry one): rolled back whole, redone once', async () => {
    const run = await runChild(dataDir, ['4', 'crash-in-commit=9'], undefined, 5);
    const { head, position } = await checkDurable(dataDir, run);
    assert.ok(position < head && position > 0, `committed ${position} of ${head}`);
    await recoverAndCheck(dataDir, head, 5);
  });
});
