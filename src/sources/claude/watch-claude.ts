import { watch, type FSWatcher } from 'node:fs';
import type { PriceTable } from '../../events/price-table.ts';
import { addResults, NO_RESULTS, type EventSink, type SendResult } from './event-sink.ts';
import { DEFAULT_IDLE_MS } from './import-claude.ts';
import { ImportStats } from './import-stats.ts';
import { compareMapped, type MappedEvent } from './mapped-event.ts';
import { SessionTallies } from './session-tally.ts';
import { TranscriptSet } from './transcript-set.ts';

export interface WatchClaudeOptions {
  readonly roots: readonly string[];
  readonly sink: EventSink;
  readonly prices?: PriceTable;
  /** Stops the watcher; the returned promise resolves after a last read and send. */
  readonly signal: AbortSignal;
  /** A file quiet this long has its last API call sent (see below). Default 30 s. */
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
  const pollMs = o.pollIntervalMs ?? 1000;
  const rescanMs = o.rescanIntervalMs ?? 5000;
  const batchSize = o.batchSize ?? 2000;
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

  let queue: MappedEvent[] = [];
  let sent = NO_RESULTS;
  let lastRescan = Number.NEGATIVE_INFINITY;

  const flush = async (): Promise<void> => {
    while (queue.length > 0) {
      const batch = queue.slice(0, batchSize);
      let result: SendResult;
      try {
        result = await o.sink.send(batch.map((e) => e.event));
      } catch (error) {
        report(error);
        return; // kept in the queue: retried on the next tick
      }
      queue = queue.slice(batch.length);
      sent = addResults(sent, result);
      o.onSent?.(result, batch);
    }
  };

  const tick = async (): Promise<void> => {
    const t = now();
    if (t - lastRescan >= rescanMs) {
      set.discover();
      lastRescan = t;
    }
    const fresh = set.read({ grewAtMs: t });
    for (const e of set.settle({ nowMs: t, sealAfterMs: quietMs, finishAfterMs: idleMs })) fresh.push(e);
    fresh.sort(compareMapped);
    for (const e of fresh) {
      tallies.add(e.event, e.timeMs);
      queue.push(e);
    }
    await flush();
  };

  // What is there already: read without marking growth, so history settles at once.
  set.discover();
  lastRescan = now();
  const initial = set.read();
  for (const e of set.settle({ nowMs: now(), sealAfterMs: quietMs, finishAfterMs: idleMs })) initial.push(e);
  initial.sort(compareMapped);
  for (const e of initial) {
    tallies.add(e.event, e.timeMs);
    queue.push(e);
  }
  await flush();
  o.onReady?.();

  // One tick at a time; a notification during a tick asks for another one right after it.
  let running: Promise<void> | undefined;
  let again = false;
  const schedule = (): void => {
    if (o.signal.aborted) return;
    if (running !== undefined) {
      again = true;
      return;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await tick();
        } catch (error) {
          report(error);
        }
      } while (again && !o.signal.aborted);
      running = undefined;
    })();
  };

  const watchers: FSWatcher[] = [];
  for (const root of o.roots) {
    try {
      const w = watch(root, { recursive: true, persistent: false }, () => schedule());
      w.on('error', (error) => {
        o.onPollingOnly?.(`change notifications for ${root} failed (${error.message}); polling every ${pollMs} ms`);
        w.close();
      });
      watchers.push(w);
    } catch (error) {
      o.onPollingOnly?.(`no change notifications for ${root} (${(error as Error).message}); polling every ${pollMs} ms`);
    }
  }
  const timer = setInterval(schedule, pollMs);

  await new Promise<void>((resolve) => {
    if (o.signal.aborted) resolve();
    else o.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  clearInterval(timer);
  for (const w of watchers) w.close();
  while (running !== undefined) await running;
  try {
    await tick(); // what arrived since the last tick
  } catch (error) {
    report(error);
  }
  return { stats, sent, tallies };
}
