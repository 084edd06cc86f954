import type { EventLog } from '../log/event-log.ts';
import { probeWritable } from '../log/open-sqlite.ts';
import { storageFault } from '../log/storage-fault.ts';
import type { Logger } from '../logger.ts';
import type { EmbeddedStore } from '../state/open-embedded-store.ts';
import type { Processor } from './processor.ts';
import type { Pump } from './pump.ts';

export interface EmbeddedHealth {
  readonly ok: boolean;
  readonly status: string;
  readonly mode: 'embedded';
  readonly head: number;
  readonly processed: number;
  readonly lag: number;
  /** What is failing: `ingest: disk full (SQLITE_FULL)`, `processing: database is read-only (SQLITE_READONLY)`, … */
  readonly fault?: string;
  /** Events dead-lettered as `processing_error` since start. */
  readonly rejected: number;
}

/** The embedded store's health and the append that feeds it. */
export interface EmbeddedHealthWatch {
  /** The store's append, remembering the last storage fault: `/healthz` is not ready while ingest would fail. */
  readonly log: Pick<EventLog, 'append'>;
  /** Ready or not, with the named fault; a write fault is re-probed on each call, so it turns ready by itself. */
  health(): EmbeddedHealth;
}

/** Watches ingest's writes and the processing pump of one embedded store. */
export function watchEmbeddedHealth({
  store,
  appender,
  processor,
  pump,
  logger,
}: {
  store: EmbeddedStore;
  /** Where ingest appends: the store's log, or its append worker. */
  appender: Pick<EventLog, 'append'>;
  processor: Processor;
  pump: Pump;
  logger: Logger;
}): EmbeddedHealthWatch {
  let writeFault: string | undefined;
  const log: Pick<EventLog, 'append'> = {
    append: async (batch) => {
      try {
        const outcomes = await appender.append(batch);
        writeFault = undefined;
        return outcomes;
      } catch (error) {
        const fault = storageFault(error);
        if (fault !== undefined && fault !== writeFault) logger.error('ingest cannot write to the store; answering 503 until it can', { fault, error });
        writeFault = fault;
        throw error;
      }
    },
  };
  const health = (): EmbeddedHealth => {
    if (writeFault !== undefined) {
      try {
        probeWritable(store.db);
        writeFault = undefined;
      } catch (error) {
        writeFault = storageFault(error) ?? (error as Error).message;
      }
    }
    let head = processor.position;
    try {
      head = store.log.headSync();
    } catch (error) {
      writeFault ??= storageFault(error) ?? (error as Error).message;
    }
    const processed = processor.position;
    const fault = writeFault !== undefined ? `ingest: ${writeFault}` : pump.fault !== undefined ? `processing: ${pump.fault}` : undefined;
    return {
      ok: fault === undefined,
      status: writeFault !== undefined ? 'ingest failing' : pump.fault !== undefined ? 'processing failing' : 'ok',
      mode: 'embedded',
      head,
      processed,
      lag: head - processed,
      ...(fault === undefined ? {} : { fault }),
      rejected: processor.rejected,
    };
  };
  return { log, health };
}
