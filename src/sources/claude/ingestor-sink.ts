import type { Ingestor } from '../../pipeline/ingestor.ts';
import type { EventSink, SendResult } from './event-sink.ts';

export interface IngestorSinkOptions {
  readonly target: string;
  /** Source label for metrics and dead letters. Default `claude`. */
  readonly source?: string;
  /**
   * Which ids the log holds already (`SqliteEventLog.knownIds`): those events are not ingested
   * again but counted as duplicates, so re-importing a history does not dead-letter all of it.
   */
  readonly knownIds?: (ids: readonly string[]) => Set<string>;
}

/** Sends into an embedded pipeline's ingestor (decode, dedupe by id, durable append). */
export function ingestorSink(ingestor: Pick<Ingestor, 'ingest'>, options: IngestorSinkOptions): EventSink {
  const source = options.source ?? 'claude';
  return {
    target: options.target,
    async send(events): Promise<SendResult> {
      const known = options.knownIds?.(events.map((e) => e.id));
      const fresh = known === undefined || known.size === 0 ? events : events.filter((e) => !known.has(e.id));
      const results = fresh.length === 0 ? [] : await ingestor.ingest(fresh, source);
      let accepted = 0;
      let duplicate = events.length - fresh.length;
      const rejections: { id?: string; reason?: string; message?: string }[] = [];
      for (const r of results) {
        if (r.status === 'accepted') accepted++;
        else if (r.status === 'duplicate') duplicate++;
        else rejections.push({ ...(r.id === undefined ? {} : { id: r.id }), reason: r.reason, message: r.message });
      }
      return { accepted, duplicate, rejected: rejections.length, rejections };
    },
  };
}
