import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TurnstreamError } from '../errors.ts';
import { openEmbeddedPipeline } from '../pipeline/open-embedded-pipeline.ts';
import type { PipelineOptions } from '../pipeline/pipeline-options.ts';
import { embeddedReplayLogs } from '../replay/open-replay-logs.ts';
import { openEmbeddedStore } from '../state/open-embedded-store.ts';
import type { Backend, ServingBackend, BackendConfig } from './backend.ts';

function dataDirOf(config: BackendConfig): string {
  if (config.dataDir === undefined) throw new TurnstreamError('no data directory: pass --data-dir (or --kafka)');
  return resolve(config.dataDir);
}

/** Serving on the embedded store: locked to this process, the processor caught up with the log. */
export async function openEmbeddedBackend(config: BackendConfig, o: PipelineOptions): Promise<ServingBackend> {
  const dataDir = dataDirOf(config);
  const maxRows = config.deadLetterMaxRows;
  const deadLetterRetention =
    maxRows === undefined || config.deadLetterMaxBytes === undefined || config.deadLetterMaxAgeMs === undefined
      ? undefined
      : { maxRows, maxRowsPerSource: Math.ceil(maxRows / 2), maxBytes: config.deadLetterMaxBytes, maxAgeMillis: config.deadLetterMaxAgeMs };
  const pipeline = await openEmbeddedPipeline({
    ...o,
    dataDir,
    ...(config.sync === undefined ? {} : { sync: config.sync }),
    ...(deadLetterRetention === undefined ? {} : { deadLetterRetention }),
    ...(config.retainMs === undefined ? {} : { retainMs: config.retainMs }),
    ...(config.rebuildThreads === undefined ? {} : { rebuild: { threads: config.rebuildThreads } }),
  });
  const { store } = pipeline;
  return {
    mode: 'embedded',
    where: dataDir,
    describe: { dataDir },
    ingest: pipeline.ingestor,
    readers: { state: store.state, deadLetters: store.deadLetters, log: embeddedReplayLogs(store.log, dataDir) },
    knownIds: (ids) => store.log.knownIds(ids),
    settled: () => pipeline.pump.idle(),
    health: () => ({ ...pipeline.health() }),
    processed: () => pipeline.processor.position,
    close: () => pipeline.close(),
  };
}

/** Reading the embedded store: no lock taken, nothing written (a running `start` keeps its data dir). */
export async function readEmbeddedBackend(config: BackendConfig, purpose: 'report' | 'replay'): Promise<Backend> {
  const dir = dataDirOf(config);
  if (!existsSync(join(dir, 'turnstream.db'))) {
    throw new TurnstreamError(
      purpose === 'replay'
        ? `no turnstream data in ${dir}: nothing to replay. Point --data-dir at the directory 'turnstream start' uses (or use --kafka)`
        : `no turnstream data in ${dir}; run 'turnstream start' (or 'turnstream send FILE --data-dir ${config.dataDir}') first, or point --data-dir at the right directory`,
    );
  }
  const store = openEmbeddedStore({ dataDir: dir });
  return {
    mode: 'embedded',
    where: dir,
    describe: { dataDir: dir },
    readers: { state: store.state, deadLetters: store.deadLetters, log: embeddedReplayLogs(store.log, dir) },
    knownIds: (ids) => store.log.knownIds(ids),
    settled: async () => undefined,
    health: () => ({ ok: true, status: 'ok', mode: 'embedded' }),
    processed: () => 0,
    close: async () => store.close(),
  };
}
