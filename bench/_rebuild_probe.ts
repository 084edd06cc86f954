// temporary: profile the no-checkpoint restart (not committed)
import { runPipeline } from './embedded-throughput.ts';
import { runReplayRestart, runReplayRead } from './replay.ts';
import { generateWorkload } from './workload.ts';
import { loadPriceTable } from '../src/events/price-table.ts';
import { cpSync, existsSync } from 'node:fs';
const n = Number(process.argv[2] ?? 300000);
const dir = `/tmp/enc/log-${n}`;
const prices = loadPriceTable();
if (!existsSync(dir)) {
  const { lines } = generateWorkload({ events: n });
  const s = await runPipeline({ lines, batchSize: 2000, prices, telemetry: 'none', keepDataDir: true, clients: 4 });
  cpSync(s.dataDir!, dir, { recursive: true });
  console.log('built', dir);
}
const work = `/tmp/enc/work-${n}`;
for (let i = 0; i < Number(process.argv[3] ?? 2); i++) {
  cpSync(dir, work, { recursive: true });
  const r = process.env.NOREAD ? { count: 1, seconds: 1 } : await runReplayRead(work);
  const s = await runReplayRestart(work, prices, n);
  console.log(JSON.stringify({ readPerSec: Math.round(r.count / r.seconds), rebuildPerSec: Math.round(s.count / s.seconds) }));
}
