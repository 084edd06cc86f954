import { readFileSync } from 'node:fs';
import { parseLoggedEvent } from '../../src/events/parse-logged-event.ts';
import type { LoggedEvent } from '../../src/events/step-event.ts';
import type { EventLog, ReadOptions } from '../../src/log/event-log.ts';
import { splitNdjson } from '../../src/sources/split-ndjson.ts';

/** The example files' valid, unique events, in file order (what the embedded log would hold). */
export function exampleEvents(...names: string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const name of names) {
    for (const line of splitNdjson(readFileSync(new URL(`../../examples/${name}.ndjson`, import.meta.url), 'utf8'))) {
      let id: unknown;
      try {
        const e = JSON.parse(line) as { v?: unknown; id?: unknown; model?: unknown; type?: unknown };
        if (e.v !== 1 || (e.type === 'llm.usage' && e.model === undefined)) continue; // rejected at ingest
        id = e.id;
      } catch {
        continue;
      }
      if (typeof id !== 'string' || seen.has(id)) continue;
      seen.add(id);
      out.push(line);
    }
  }
  return out;
}

/**
 * A read-only `EventLog` over NDJSON lines, positions from 1 in line order: a log for unit tests.
 * `dedupesOnAppend` says what the lines are (true: no repeated ids, like the embedded log).
 */
export function memoryLog(lines: readonly string[], { dedupesOnAppend = true } = {}): Pick<EventLog, 'read' | 'dedupesOnAppend'> & { reads: number } {
  const events: LoggedEvent[] = lines.map((line, i) => ({ pos: i + 1, event: parseLoggedEvent(line) }));
  const log = {
    dedupesOnAppend,
    reads: 0,
    async *read(o: ReadOptions = {}): AsyncIterable<LoggedEvent[]> {
      const size = o.batchSize ?? 5000;
      const matching = events.filter((e) => e.pos > (o.after ?? 0) && (o.session === undefined || e.event.session === o.session));
      for (let i = 0; i < matching.length; i += size) {
        log.reads += Math.min(size, matching.length - i);
        // Fresh objects each read, as a real log parses each time.
        yield matching.slice(i, i + size).map(({ pos, event }) => ({ pos, event: { ...event } }));
      }
    },
  };
  return log;
}
