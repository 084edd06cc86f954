// temporary: allocation sampling of one end-to-end run (not committed)
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import { runPipeline } from './embedded-throughput.ts';
import { generateWorkload } from './workload.ts';
import { loadPriceTable } from '../src/events/price-table.ts';
const prices = loadPriceTable();
const { lines } = generateWorkload({ events: 300000 });
await runPipeline({ lines: lines.slice(0, 50000), batchSize: 2000, prices, telemetry: 'otlp', clients: 4 });
const s = new Session();
s.connect();
await s.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
const r = await runPipeline({ lines, batchSize: 2000, prices, telemetry: 'otlp', clients: 4 });
const { profile } = await s.post('HeapProfiler.stopSampling');
writeFileSync('/tmp/enc/alloc.json', JSON.stringify(profile));
console.log('events/s', Math.round(r.count / r.seconds));
