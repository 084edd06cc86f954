import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Session } from 'node:inspector/promises';
import type { PriceTable } from '../src/events/price-table.ts';
import { runPipeline } from './embedded-throughput.ts';
import { summarizeProfile, type ProfileRow } from './summarize-cpu-profile.ts';

export interface EmbeddedProfile {
  readonly file: string;
  readonly eventsPerSecond: number;
  readonly totalMs: number;
  readonly functions: ProfileRow[];
  readonly groups: ProfileRow[];
}

/**
 * CPU-profiles exactly one end-to-end run (OTLP to a local sink, worker threads on) with the
 * in-process inspector, so the profile holds the pipeline's main thread and not workload generation; writes the `.cpuprofile` (open it in
 * Chrome DevTools) and returns the top self-time functions and files.
 */
export async function profileEmbedded(o: {
  lines: readonly string[];
  batchSize: number;
  clients: number;
  prices: PriceTable;
  file: string;
  top: number;
}): Promise<EmbeddedProfile> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
    const sample = await runPipeline({ lines: o.lines, batchSize: o.batchSize, clients: o.clients, prices: o.prices, telemetry: 'otlp' });
    const { profile } = await session.post('Profiler.stop');
    mkdirSync(dirname(o.file), { recursive: true });
    writeFileSync(o.file, JSON.stringify(profile));
    const summary = summarizeProfile(profile as unknown as Parameters<typeof summarizeProfile>[0], o.top);
    return { file: o.file, eventsPerSecond: sample.count / sample.seconds, ...summary };
  } finally {
    session.disconnect();
  }
}

export function formatProfile(p: EmbeddedProfile): string {
  const line = (r: ProfileRow): string =>
    `${r.selfPct.toFixed(1).padStart(5)} %  ${r.selfMs.toFixed(0).padStart(6)} ms  ${r.name}${r.where === '' ? '' : `  (${r.where})`}`;
  return [
    `CPU profile of one end-to-end run (${Math.round(p.eventsPerSecond / 1000)}k events/s while profiled; ${p.totalMs.toFixed(0)} ms sampled) → ${p.file}`,
    'top self time, by function:',
    ...p.functions.map(line),
    'self time, by file / package:',
    ...p.groups.map(line),
  ].join('\n');
}
