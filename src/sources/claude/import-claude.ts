import { statSync } from 'node:fs';
import type { PriceTable } from '../../events/price-table.ts';
import { addResults, NO_RESULTS, type EventSink, type SendResult } from './event-sink.ts';
import { ImportStats } from './import-stats.ts';
import { compareMapped, type MappedEvent } from './mapped-event.ts';
import { SessionTallies, type SessionTally } from './session-tally.ts';
import { TranscriptSet } from './transcript-set.ts';

export const DEFAULT_IDLE_MS = 10 * 60_000;

export interface ImportProgress {
  readonly phase: 'read' | 'send';
  /** Bytes (read) or events (send) done so far, of `total`. */
  readonly done: number;
  readonly total: number;
}

export interface ImportClaudeOptions {
  /** Directories (searched for `*.jsonl`) or single transcript files. */
  readonly roots: readonly string[];
  readonly sink: EventSink;
  /** For the per-session cost in the result; the pipeline prices events itself. */
  readonly prices?: PriceTable;
  /** Wall clock, epoch ms, to tell finished transcripts from live ones. Default: now. */
  readonly nowMs?: number;
  /** A transcript whose last line is older than this is complete. Default 10 min. */
  readonly idleMs?: number;
  /** Events per `sink.send`. Default 2000. */
  readonly batchSize?: number;
  readonly onProgress?: (p: ImportProgress) => void;
}

export interface ImportClaudeResult {
  readonly stats: ImportStats;
  readonly sent: SendResult;
  readonly sessions: SessionTally[];
  /** Transcripts written to within `idleMs`: their sessions stay open, and a last call without its stop reason waits for the next import. */
  readonly activeFiles: number;
  readonly readMillis: number;
  readonly sendMillis: number;
}

/**
 * One-shot import: reads every transcript under `roots`, maps it (`TranscriptMapper`), orders the
 * events of all files by event time, and sends them in batches. Transcripts quiet for `idleMs`
 * are complete: their last calls are sent and their sessions ended. A transcript written to more
 * recently is live: its last call is sent if its stop reason is written (Claude Code 2.1 writes it
 * once the response is complete; a final answer then ends its turn), else it and its open turn are
 * left for a later import or `--watch`, because an event, once sent, cannot be changed (its id is
 * taken); the session stays open. Bad lines and unreadable files are counted in `stats`, never thrown.
 */
export async function importClaude(o: ImportClaudeOptions): Promise<ImportClaudeResult> {
  const nowMs = o.nowMs ?? Date.now();
  const idleMs = o.idleMs ?? DEFAULT_IDLE_MS;
  const batchSize = o.batchSize ?? 2000;
  const stats = new ImportStats();
  const set = new TranscriptSet({ roots: o.roots, stats });
  const readStart = performance.now();
  const paths = set.discover();
  let totalBytes = 0;
  for (const p of paths) {
    try {
      totalBytes += statSync(p).size;
    } catch {
      // unreadable: counted when read
    }
  }
  const events: MappedEvent[] = [];
  let doneBytes = 0;
  for (const path of paths) {
    for (const e of set.read({ paths: [path], onFile: (bytes) => (doneBytes += bytes) })) events.push(e);
    o.onProgress?.({ phase: 'read', done: doneBytes, total: Math.max(totalBytes, doneBytes) });
  }
  for (const e of set.takePartialLines()) events.push(e);
  const settle = { nowMs, sealAfterMs: idleMs, finishAfterMs: idleMs };
  for (const e of set.settle(settle)) events.push(e);
  events.sort(compareMapped);
  const tallies = new SessionTallies(o.prices);
  for (const e of events) tallies.add(e.event, e.timeMs);
  const readMillis = performance.now() - readStart;

  const sendStart = performance.now();
  let sent = NO_RESULTS;
  for (let i = 0; i < events.length; i += batchSize) {
    const batch = events.slice(i, i + batchSize).map((e) => e.event);
    sent = addResults(sent, await o.sink.send(batch));
    o.onProgress?.({ phase: 'send', done: Math.min(i + batchSize, events.length), total: events.length });
  }
  return { stats, sent, sessions: tallies.list(), activeFiles: set.active(settle), readMillis, sendMillis: performance.now() - sendStart };
}
