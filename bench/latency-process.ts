/**
 * The latency run in a process of its own (`npm run bench` starts it): only the lines it feeds
 * stay in its heap. In the bench's own process the whole workload (~250 MB of strings for 1M
 * events) shares the heap with the pipeline, and each major GC marks it: measured, 150–190 ms
 * pauses that a server, whose heap holds no client's input, does not have.
 *
 *   node --expose-gc bench/latency-process.ts --events N --sessions N --seed N --rate N --seconds N --warmup N
 * prints one line: {"bench":"latency","result":{…}}
 */
import { parseArgs } from 'node:util';
import { loadPriceTable } from '../src/events/price-table.ts';
import { latencyWindow, runLatency } from './latency.ts';
import { generateWorkload } from './workload.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    sessions: { type: 'string', default: '2000' },
    seed: { type: 'string', default: '42' },
    rate: { type: 'string', default: '10000' },
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '1' },
  },
});
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const warmupSeconds = Number(values.warmup);
const window = latencyWindow(Number(values.events), { rate, seconds, warmupSeconds });
// The same workload as the other stages' (same options, same lines); only the window's lines are kept.
const lines: string[] = [];
let at = 0;
generateWorkload({
  events: Number(values.events),
  sessions: Number(values.sessions),
  seed: Number(values.seed),
  onLine: (line) => {
    if (at >= window.offset && at < window.offset + window.count) lines.push(line);
    at++;
  },
});
(globalThis as { gc?: () => void }).gc?.();
const result = await runLatency({ lines, offset: window.offset, prices: loadPriceTable(), rate, seconds, warmupSeconds });
process.stdout.write(`${JSON.stringify({ bench: 'latency', result })}\n`);
