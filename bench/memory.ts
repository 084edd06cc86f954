import type { PriceTable } from '../src/events/price-table.ts';
import { openEmbeddedPipeline, type EmbeddedPipeline } from '../src/pipeline/open-embedded-pipeline.ts';
import { benchTelemetry } from './counting-span-exporter.ts';
import { benchLogger } from './embedded-throughput.ts';
import { collectGarbage, tempDataDir, yieldToEventLoop } from './measure.ts';
import { DEFAULT_START_MS } from './workload.ts';

export interface MemoryOptions {
  readonly prices: PriceTable;
  /** Turns opened and left open. */
  readonly openTurns: number;
  /** Turns opened and closed, at most (the time budget may stop earlier). */
  readonly closeTurns: number;
  readonly budgetSeconds: number;
  readonly batchSize: number;
  /** Event time between consecutive closed turns. 5 ms = 200 turns/s, like the throughput workload. */
  readonly turnGapMs: number;
}

export interface HeapPoint {
  readonly turnsClosed: number;
  readonly heapUsedBytes: number;
}

export interface OpenTurnsResult {
  readonly turns: number;
  readonly eventsPerTurn: number;
  readonly bytesPerTurn: number;
  readonly rssBytesPerTurn: number;
}

export interface MemoryResult {
  readonly light: OpenTurnsResult;
  readonly mid: OpenTurnsResult;
  readonly closeTurnsTarget: number;
  readonly turnGapMs: number;
  /** Closed turns the grace period holds at steady state (grace / gap). */
  readonly heldInGrace: number;
  readonly turnsClosed: number;
  readonly closeSeconds: number;
  readonly heapBeforeBytes: number;
  readonly heapAfterBytes: number;
  /** heapUsed (after gc) at regular points while closing turns. */
  readonly curve: HeapPoint[];
  /** Growth from the middle of the close phase to its end: ~0 when memory is flat. */
  readonly secondHalfGrowthBytes: number;
}

/** The pipeline's default grace period (WindowTurnsOptions.graceMs). */
const GRACE_MS = 300_000;

const heapUsed = (): number => {
  collectGarbage();
  return process.memoryUsage().heapUsed;
};

/** Ids as long as real ones (ULIDs, `sess_…`, `toolu_…`): their strings are what windows retain. */
const eventId = (n: number): string => `01K${String(n).padStart(23, '0')}`;
const sessionId = (n: number): string => `sess_${String(n).padStart(20, '0')}`;

const usage = (session: string, turn: string, id: string, ms: number): string =>
  JSON.stringify({
    v: 1,
    id,
    type: 'llm.usage',
    session,
    turn,
    time: new Date(ms).toISOString(),
    provider: 'anthropic',
    model: 'claude-sonnet-4-5',
    inputTokens: 1200,
    outputTokens: 300,
    cacheReadTokens: 8000,
    cacheWriteTokens: 1500,
    finishReason: 'tool_use',
    durationMs: 1800,
  });

async function openPipeline(prices: PriceTable) {
  const data = tempDataDir();
  const { telemetry } = await benchTelemetry('full');
  let aggregates = 0;
  const pipeline: EmbeddedPipeline = await openEmbeddedPipeline({
    dataDir: data.dir,
    prices,
    logger: benchLogger,
    ...(telemetry === undefined ? {} : { telemetry }),
    onAggregate: () => aggregates++,
  });
  return {
    pipeline,
    aggregates: () => aggregates,
    async send(lines: string[]): Promise<void> {
      await pipeline.ingestor.ingest(lines, 'bench');
      await yieldToEventLoop();
    },
    async settle(): Promise<void> {
      await pipeline.pump.idle();
      await telemetry?.forceFlush();
      if (pipeline.pump.failure !== undefined) throw pipeline.pump.failure;
    },
    async close(): Promise<void> {
      await pipeline.close();
      await telemetry?.shutdown();
      data.remove();
    },
  };
}

/** Heap per open turn for one turn shape: turn.start, then `steps` × (llm.usage, tool.start, tool.end). */
async function measureOpenTurns(o: MemoryOptions, turns: number, steps: number): Promise<OpenTurnsResult> {
  const pipe = await openPipeline(o.prices);
  const heap0 = heapUsed();
  const rss0 = process.memoryUsage().rss;
  const batch: string[] = [];
  let n = 0;
  let ms = DEFAULT_START_MS;
  const push = async (line: string): Promise<void> => {
    batch.push(line);
    if (batch.length >= o.batchSize) await pipe.send(batch.splice(0));
  };
  for (let i = 0; i < turns; i++) {
    const session = sessionId(i >> 2);
    const turn = `turn-${i & 3}`;
    ms += 2;
    const t = ms;
    const at = new Date(t).toISOString();
    if ((i & 3) === 0) await push(JSON.stringify({ v: 1, id: eventId(n++), type: 'session.start', session, time: at, agent: 'claude-code', user: 'user-1' }));
    await push(JSON.stringify({ v: 1, id: eventId(n++), type: 'turn.start', session, turn, time: at }));
    for (let k = 0; k < steps; k++) {
      const toolCallId = `toolu_${String(i * 8 + k).padStart(16, '0')}`;
      await push(usage(session, turn, eventId(n++), t));
      await push(JSON.stringify({ v: 1, id: eventId(n++), type: 'tool.start', session, turn, time: at, toolCallId, toolName: 'Bash' }));
      await push(
        JSON.stringify({
          v: 1,
          id: eventId(n++),
          type: 'tool.end',
          session,
          turn,
          time: new Date(t + 1).toISOString(),
          toolCallId,
          toolName: 'Bash',
          durationMs: 1,
        }),
      );
    }
  }
  if (batch.length > 0) await pipe.send(batch.splice(0));
  await pipe.settle();
  const heap1 = heapUsed();
  const rss1 = process.memoryUsage().rss;
  if (pipe.aggregates() !== 0) throw new Error(`memory: ${pipe.aggregates()} turns closed in the open phase; expected none`);
  await pipe.close();
  return { turns, eventsPerTurn: 1 + 3 * steps, bytesPerTurn: (heap1 - heap0) / turns, rssBytesPerTurn: (rss1 - rss0) / turns };
}

/**
 * Memory per open turn, and whether memory stays flat as turns close.
 *
 * Open phase, two turn shapes, 4 open turns per session (plus its session.start), never closed:
 * `openTurns` light turns (turn.start + one llm.usage + one tool call: 4 events) and
 * `openTurns / 2` mid-turn ones (turn.start + 3 × (llm.usage + tool call): 10 events). heapUsed
 * after gc, before and after, divided by the number of turns. Event time stays well inside the
 * idle timeout, so none closes.
 *
 * Close phase (a fresh pipeline): complete turns (turn.start, llm.usage, turn.end) over a pool of
 * 2,000 sessions, one turn per `turnGapMs` of event time, until `closeTurns` or the time budget;
 * heapUsed after gc is sampled twenty times. Closed windows are held for the grace period (5 min
 * of event time: 60k turns at a 5 ms gap) by design, so memory rises to a plateau, then must stay
 * flat.
 */
export async function runMemory(o: MemoryOptions): Promise<MemoryResult> {
  const light = await measureOpenTurns(o, o.openTurns, 1);
  const midTurn = await measureOpenTurns(o, Math.ceil(o.openTurns / 2), 3);

  // Close phase.
  const pipe = await openPipeline(o.prices);
  let n = 0;
  let ms = DEFAULT_START_MS;
  const batch: string[] = [];
  const push = async (line: string): Promise<void> => {
    batch.push(line);
    if (batch.length >= o.batchSize) await pipe.send(batch.splice(0));
  };
  const before = heapUsed();
  const curve: HeapPoint[] = [{ turnsClosed: 0, heapUsedBytes: before }];
  const every = Math.max(1, Math.floor(o.closeTurns / 20));
  const start = performance.now();
  let closed = 0;
  for (; closed < o.closeTurns; closed++) {
    const session = sessionId(closed % 2000);
    const turn = `turn-${closed}`;
    ms += o.turnGapMs;
    await push(JSON.stringify({ v: 1, id: eventId(n++), type: 'turn.start', session, turn, time: new Date(ms).toISOString() }));
    await push(usage(session, turn, eventId(n++), ms + 2));
    await push(JSON.stringify({ v: 1, id: eventId(n++), type: 'turn.end', session, turn, time: new Date(ms + 3).toISOString(), stopReason: 'end_turn' }));
    if ((closed + 1) % every === 0) {
      if (batch.length > 0) await pipe.send(batch.splice(0));
      await pipe.settle();
      curve.push({ turnsClosed: closed + 1, heapUsedBytes: heapUsed() });
      if ((performance.now() - start) / 1000 > o.budgetSeconds) {
        closed++;
        break;
      }
    }
  }
  if (batch.length > 0) await pipe.send(batch.splice(0));
  await pipe.settle();
  const closeSeconds = (performance.now() - start) / 1000;
  const after = heapUsed();
  if (curve.at(-1)?.turnsClosed !== closed) curve.push({ turnsClosed: closed, heapUsedBytes: after });
  const mid = curve[Math.floor((curve.length - 1) / 2)]!;
  await pipe.close();
  return {
    light,
    mid: midTurn,
    closeTurnsTarget: o.closeTurns,
    turnGapMs: o.turnGapMs,
    heldInGrace: Math.round(GRACE_MS / o.turnGapMs),
    turnsClosed: closed,
    closeSeconds,
    heapBeforeBytes: before,
    heapAfterBytes: after,
    curve,
    secondHalfGrowthBytes: after - mid.heapUsedBytes,
  };
}
