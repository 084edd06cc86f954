import type { PriceTable } from '../../events/price-table.ts';
import type { EventSink, SendResult } from './event-sink.ts';
import { followChanges } from './follow-changes.ts';
import { DEFAULT_IDLE_MS } from './import-claude.ts';
import { ImportStats } from './import-stats.ts';
import { compareMapped, type MappedEvent } from './mapped-event.ts';
import { SendQueue } from './send-queue.ts';
import { SessionTallies } from './session-tally.ts';
import { TranscriptSet } from './transcript-set.ts';

export interface WatchClaudeOptions {
  readonly roots: readonly string[];
  readonly sink: EventSink;
  readonly prices?: PriceTable;
  /** Stops the watcher; the returned promise resolves after a last read and send. */
  readonly signal: AbortSignal;
  /** A file quiet this long has its last API call sent (see below); one whose stop reason is written is sent at once. Default 30 s. */
  readonly quietMs?: number;
  /** A file quiet this long is a finished session. Default 10 min. */
  readonly idleMs?: number;
  /** How often files are checked for growth without a change notification. Default 1 s. */
  readonly pollIntervalMs?: number;
  /** How often the directories are searched for new files. Default 5 s. */
  readonly rescanIntervalMs?: number;
  readonly batchSize?: number;
  /** Wall clock (tests). */
  readonly now?: () => number;
  /** After every delivered batch (the initial import is one or more batches). */
  readonly onSent?: (result: SendResult, events: readonly MappedEvent[]) => void;
  /** The transcripts already there were read and sent; following changes from now on. */
  readonly onReady?: () => void;
  /** A failed send (the events are kept and retried on the next tick) or a watch error. */
  readonly onError?: (error: Error) => void;
  /** Change notifications unavailable: polling only. */
  readonly onPollingOnly?: (reason: string) => void;
}

export interface WatchClaudeResult {
  readonly stats: ImportStats;
  readonly sent: SendResult;
  readonly tallies: SessionTallies;
}

/**
 * Follows the transcripts under `roots` as Claude Code writes them and sends what appears.
 * Starts with everything already there (like `importClaude`), then reacts to `fs.watch`
 * notifications (recursive) and, because those are unreliable (network file systems, inotify
 * limits, editors replacing files), also polls: every `pollIntervalMs` each known file is read
 * from where it was left, every `rescanIntervalMs` the directories are searched for new files.
 * A partial last line waits for its newline.
 *
 * An API call is complete when the next call, prompt or end of turn shows it; the last call of a
 * turn has nothing after it, so it is sent once its file has been quiet for `quietMs` (and if
 * Claude Code then adds a block to it, the growth is sent as a continuation). A file quiet for
 * `idleMs` ends its session. Events that could not be sent (server down) are kept and retried.
 * Errors go to `onError`; the watcher never throws into its host.
 */
export async function watchClaude(o: WatchClaudeOptions): Promise<WatchClaudeResult> {
  const now = o.now ?? Date.now;
  const quietMs = o.quietMs ?? 30_000;
  const idleMs = o.idleMs ?? DEFAULT_IDLE_MS;
  const rescanMs = o.rescanIntervalMs ?? 5000;
  const stats = new ImportStats();
  const tallies = new SessionTallies(o.prices);
  const set = new TranscriptSet({ roots: o.roots, stats });
  const report = (error: unknown): void => {
    try {
      o.onError?.(error instanceof Error ? error : new Error(String(error)));
    } catch {
      // a failing handler must not stop the watcher
    }
  };
  const queue = new SendQueue({ sink: o.sink, batchSize: o.batchSize ?? 2000, onSent: o.onSent, onError: report });
  // Settled events go out in time order and are tallied as they are queued.
  const enqueue = (fresh: MappedEvent[], nowMs: number): void => {
    for (const e of set.settle({ nowMs, sealAfterMs: quietMs, finishAfterMs: idleMs })) fresh.push(e);
    fresh.sort(compareMapped);
    for (const e of fresh) tallies.add(e.event, e.timeMs);
    queue.push(fresh);
  };

  let lastRescan = Number.NEGATIVE_INFINITY;
  const tick = async (): Promise<void> => {
    const t = now();
    if (t - lastRescan >= rescanMs) {
      set.discover();
      lastRescan = t;
    }
    enqueue(set.read({ grewAtMs: t }), t);
    await queue.flush();
  };

  // What is there already: read without marking growth, so history settles at once.
  set.discover();
  lastRescan = now();
  enqueue(set.read(), now());
  await queue.flush();
  o.onReady?.();

  await followChanges({
    roots: o.roots,
    pollIntervalMs: o.pollIntervalMs ?? 1000,
    signal: o.signal,
    tick,
    onError: report,
    onPollingOnly: o.onPollingOnly,
  });
  try {
    await tick(); // what arrived since the last tick
  } catch (error) {
    report(error);
  }
  return { stats, sent: queue.sent, tallies };
}
