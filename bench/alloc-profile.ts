/**
 * What the main thread allocates per event end to end: one warm-up run, then one run (OTLP to a
 * local sink, worker threads on, as `npm run bench`'s end-to-end row) under V8's sampling heap
 * profiler, counting objects the garbage collector has already freed too (that garbage is what
 * the scavenges and the GC helper threads spend their time on). Prints bytes per event, the
 * functions that allocate most, and writes the `.heapprofile` (open it in Chrome DevTools).
 *
 *   node --expose-gc bench/alloc-profile.ts [--events 300000] [--top 20] [--surviving] [--out bench/results/embedded.heapprofile]
 *
 * `--surviving` counts only what outlived a scavenge (or was live at the end): what the scavenges
 * copy and promote, the part of the garbage collector's work that grows with how long objects live
 * rather than with how many are made.
 *
 * Sampling (one sample per 4 KiB on average) makes the totals estimates: ±2 % between runs here.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { parseArgs } from 'node:util';
import { loadPriceTable } from '../src/events/price-table.ts';
import { runPipeline } from './embedded-throughput.ts';
import { generateWorkload } from './workload.ts';

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}

const { values } = parseArgs({
  options: { events: { type: 'string', default: '300000' }, top: { type: 'string', default: '20' }, surviving: { type: 'boolean' }, out: { type: 'string' } },
});
const events = Number(values.events);
const top = Number(values.top);
if (!Number.isInteger(events) || events <= 0 || !Number.isInteger(top) || top <= 0) throw new Error('--events and --top take positive integers');

const prices = loadPriceTable();
const { lines } = generateWorkload({ events });
const run = () => runPipeline({ lines, batchSize: 2000, prices, telemetry: 'otlp', clients: 4 });
await run(); // warm-up: compiled code and caches, as in the measured run

const session = new Session();
session.connect();
const surviving = values.surviving === true;
await session.post('HeapProfiler.startSampling', {
  samplingInterval: 4096,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: !surviving,
});
const sample = await run();
const { profile } = await session.post('HeapProfiler.stopSampling');
session.disconnect();
if (values.out !== undefined) writeFileSync(values.out, JSON.stringify(profile));

const bySite = new Map<string, number>();
let total = 0;
const walk = (n: HeapNode): void => {
  const { functionName, url, lineNumber } = n.callFrame;
  const where = url.includes('/src/') ? `src/${url.split('/src/')[1]}` : (url.split('/').pop() ?? '');
  const site = `${functionName || '(anonymous)'}  (${where || 'native'}${where ? `:${lineNumber + 1}` : ''})`;
  bySite.set(site, (bySite.get(site) ?? 0) + n.selfSize);
  total += n.selfSize;
  for (const c of n.children) walk(c);
};
walk((profile as unknown as { head: HeapNode }).head);

const perEvent = (bytes: number): string => `${Math.round(bytes / events).toLocaleString('en')} B`;
process.stdout.write(
  `${surviving ? 'outlived a scavenge' : 'allocated'} on the main thread: ${perEvent(total)} per event (${(total / 2 ** 20).toFixed(0)} MiB for ${events.toLocaleString('en')} events; ${Math.round(sample.count / sample.seconds).toLocaleString('en')} events/s while sampled)\n`,
);
for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  process.stdout.write(`${((100 * bytes) / total).toFixed(1).padStart(5)} %  ${perEvent(bytes).padStart(7)}  ${site}\n`);
}
if (values.out !== undefined) process.stdout.write(`wrote ${values.out}\n`);
