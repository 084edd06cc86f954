/**
 * The floor: each part every event must go through, measured alone on this thread with the
 * product's own code, and the events/s they leave on this machine's cores if nothing else cost
 * anything. What the end-to-end row can never beat without making one of these parts cheaper.
 *
 *   decode   `decodeEvent`: JSON.parse, schema validation, event time
 *   append   `SqliteEventLog.appendSync` in the batch size's transactions: the row, the unique
 *            event id, the session index and extents, the clock ticks, SQLite's own WAL
 *            checkpoints (in the product: the log writer and WAL checkpoint threads)
 *   fold     the processor's operators (screen, price, dedupe clocks, turn windows, held turns) fed
 *            the decoded events as a rebuild feeds them: nothing emitted, so no aggregate is built,
 *            committed, recorded in metrics or handed to the span thread
 *   spans    `OtlpTurnEncoder` on every aggregate a pipeline run emits, per event of that run
 *            (in the product: the span thread), without the HTTP request
 *
 * Left out, so the ceiling is generous: the state commit, metrics, checkpoints, ingest's HTTP,
 * the hand-overs between threads, building each aggregate, and the garbage collector's helper
 * threads (each part's own pauses are in).
 */
import { decodeEvent, DEFAULT_DECODE_LIMITS } from '../src/events/decode-event.ts';
import type { PriceTable } from '../src/events/price-table.ts';
import type { LoggedEvent, StepEvent } from '../src/events/step-event.ts';
import type { TurnAggregate } from '../src/model/turn-aggregate.ts';
import { rebuildShard } from '../src/pipeline/rebuild-shard.ts';
import { openEmbeddedStore, type EmbeddedStore } from '../src/state/open-embedded-store.ts';
import { TURN_WINDOW_DEFAULTS } from '../src/streams/turn-timing.ts';
import { runDecodeOnly, runEncodeTurns } from './embedded-throughput.ts';
import { repeat, secondsSince, tempDataDir, type RateSummary } from './measure.ts';

export interface FloorRow {
  readonly part: string;
  /** Best run, microseconds of this thread per workload event. */
  readonly usPerEvent: number;
  readonly notes: string;
}

export interface FloorResult {
  readonly rows: readonly FloorRow[];
  /** Sum of the rows: µs of CPU per event before anything else. */
  readonly sumUs: number;
  /** `cores` / sum: events/s if the parts overlapped perfectly over every core and nothing else ran. */
  readonly ceiling: number;
  readonly cores: number;
}

const usPer = (s: RateSummary): number => 1e6 / s.best;

/** Decodes every line (they must all be valid) into the events the log would hold, in order. */
function decodeAll(lines: readonly string[]): { event: StepEvent; raw: string }[] {
  const now = Date.now();
  return lines.map((raw, i) => {
    const d = decodeEvent(raw, now, DEFAULT_DECODE_LIMITS);
    if (!d.ok) throw new Error(`workload line ${i + 1} does not decode: ${JSON.stringify(d)}`);
    return { event: d.event, raw };
  });
}

async function* inBatches(events: readonly LoggedEvent[], size: number): AsyncIterable<LoggedEvent[]> {
  for (let i = 0; i < events.length; i += size) yield events.slice(i, i + size);
}

/**
 * Measures the floor (see the module comment) on `lines`; `aggregates` are what a pipeline run over
 * the same lines emitted (the spans row encodes them). `runs` runs of each part, the best kept.
 */
// long: four measured parts in order, each needing the previous one's output (decoded events, the log's store)
export async function runFloor(o: {
  lines: readonly string[];
  aggregates: readonly TurnAggregate[];
  batchSize: number;
  prices: PriceTable;
  runs: number;
  cores: number;
}): Promise<FloorResult> {
  const n = o.lines.length;
  // Decoded once first: a line that does not decode is named before anything is timed.
  const decoded = decodeAll(o.lines);
  const decode = await repeat(o.runs, () => runDecodeOnly(o.lines, o.batchSize));
  // Each append run into a store of its own; the last one stays open for the fold's closed-turn lookups.
  let current: { store: EmbeddedStore; dir: ReturnType<typeof tempDataDir> } | undefined;
  const drop = (): void => {
    current?.store.close();
    current?.dir.remove();
  };
  try {
    const append = await repeat(o.runs, () => {
      drop();
      const dir = tempDataDir('turnstream-floor-');
      const store = openEmbeddedStore({ dataDir: dir.dir });
      current = { store, dir };
      const start = process.hrtime.bigint();
      for (let i = 0; i < n; i += o.batchSize) store.log.appendSync(decoded.slice(i, i + o.batchSize));
      return { seconds: secondsSince(start), count: n };
    });
    const logged: LoggedEvent[] = decoded.map(({ event }, i) => ({ pos: i + 1, event }));
    const fold = await repeat(o.runs, async () => {
      const r = await rebuildShard({ read: inBatches(logged, 5000), through: n, state: current!.store.state, prices: o.prices, windows: TURN_WINDOW_DEFAULTS });
      if (!r.ok) throw new Error(`the fold refused the workload: ${r.reason}`);
      // The feed alone: the open work's snapshot after it is a rebuild's, not every event's.
      return { seconds: r.feedMs / 1000, count: n };
    });
    const spans = await repeat(o.runs, () => ({ seconds: runEncodeTurns(o.aggregates, 2048).seconds, count: n }));
    const rows: FloorRow[] = [
      { part: 'decode: JSON.parse + validation + event time', usPerEvent: usPer(decode), notes: '' },
      {
        part: 'append: SQLite row, unique id, session index, ticks',
        usPerEvent: usPer(append),
        notes: `${o.batchSize}-row transactions, WAL sync=normal`,
      },
      { part: 'fold: screen, price, windows (no aggregate built)', usPerEvent: usPer(fold), notes: 'as a rebuild feeds them' },
      {
        part: 'spans: OTLP protobuf of every aggregate',
        usPerEvent: usPer(spans),
        notes: `${o.aggregates.length.toLocaleString('en')} aggregates of a run, per event of that run`,
      },
    ];
    const sumUs = rows.reduce((s, r) => s + r.usPerEvent, 0);
    return { rows, sumUs, ceiling: (o.cores * 1e6) / sumUs, cores: o.cores };
  } finally {
    drop();
  }
}
