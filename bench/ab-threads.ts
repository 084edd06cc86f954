/**
 * Interleaved A/B of the embedded pipeline end to end, with and without its worker threads: on a
 * noisy machine (this VM's plain-loop baseline moves ±20 % from run to run) only configurations
 * run alternately in one process compare. Each round runs every configuration once, in turn, on
 * the same workload (OTLP/HTTP spans to a local sink, `--clients` producers); prints each
 * configuration's median and all its rates, and in how many rounds it beat "none".
 *
 *   node --expose-gc bench/ab-threads.ts [--rounds 7] [--events 100000] [--clients 4]
 */
import { parseArgs } from 'node:util';
import { loadPriceTable } from '../src/events/price-table.ts';
import { runPipeline } from './embedded-throughput.ts';
import { collectGarbage, median } from './measure.ts';
import { generateWorkload } from './workload.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string' }, events: { type: 'string' }, clients: { type: 'string' } } });
const rounds = Number(values.rounds ?? 7);
const clients = Number(values.clients ?? 4);
const { lines } = generateWorkload({ events: Number(values.events ?? 100_000), sessions: 2000, seed: 42 });
const prices = loadPriceTable();

const configs = [
  { name: 'both threads (default)', telemetry: 'otlp', logWriterThread: true },
  { name: 'span worker only', telemetry: 'otlp', logWriterThread: false },
  { name: 'log writer only', telemetry: 'otlp-thread', logWriterThread: true },
  { name: 'none', telemetry: 'otlp-thread', logWriterThread: false },
] as const;
const rates = new Map<string, number[]>(configs.map((c) => [c.name, []]));
for (let round = 1; round <= rounds; round++) {
  for (const c of configs) {
    collectGarbage();
    const s = await runPipeline({ lines, batchSize: 2000, clients, prices, telemetry: c.telemetry, logWriterThread: c.logWriterThread });
    rates.get(c.name)!.push(Math.round(s.count / s.seconds));
  }
  process.stderr.write(`[ab-threads] round ${round}/${rounds}\n`);
}
const none = rates.get('none')!;
process.stdout.write(`${lines.length.toLocaleString('en')} events, ${clients} producers, ${rounds} rounds; events/s\n`);
for (const [name, xs] of rates) {
  const wins = xs.filter((x, i) => x > none[i]!).length;
  process.stdout.write(`${name.padEnd(24)} median ${String(Math.round(median(xs))).padStart(6)}  beat none ${wins}/${rounds}  all ${xs.join(' ')}\n`);
}
