import { watch, type FSWatcher } from 'node:fs';

export interface FollowChangesOptions {
  readonly roots: readonly string[];
  readonly pollIntervalMs: number;
  readonly signal: AbortSignal;
  /** One pass over the files; never runs twice at once. */
  readonly tick: () => Promise<void>;
  /** An error thrown by `tick`. */
  readonly onError: (error: unknown) => void;
  readonly onPollingOnly?: (reason: string) => void;
}

/**
 * Runs `tick` on every change notification under `roots` (recursive `fs.watch`) and every
 * `pollIntervalMs`, because notifications are unreliable (network file systems, inotify limits,
 * editors replacing files). One tick at a time: a notification during a tick asks for another
 * one right after it. Resolves once `signal` aborts and the running tick has finished; watchers
 * and the timer are released then.
 */
export async function followChanges(o: FollowChangesOptions): Promise<void> {
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
          await o.tick();
        } catch (error) {
          o.onError(error);
        }
      } while (again && !o.signal.aborted);
      running = undefined;
    })();
  };

  const watchers = watchRoots(o, schedule);
  const timer = setInterval(schedule, o.pollIntervalMs);
  await new Promise<void>((resolve) => {
    if (o.signal.aborted) resolve();
    else o.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  clearInterval(timer);
  for (const w of watchers) w.close();
  while (running !== undefined) await running;
}

/** A root whose notifications fail (or never start) is left to polling, and `onPollingOnly` says so. */
function watchRoots(o: FollowChangesOptions, onChange: () => void): FSWatcher[] {
  const watchers: FSWatcher[] = [];
  for (const root of o.roots) {
    try {
      const w = watch(root, { recursive: true, persistent: false }, () => onChange());
      w.on('error', (error) => {
        o.onPollingOnly?.(`change notifications for ${root} failed (${error.message}); polling every ${o.pollIntervalMs} ms`);
        w.close();
      });
      watchers.push(w);
    } catch (error) {
      o.onPollingOnly?.(`no change notifications for ${root} (${(error as Error).message}); polling every ${o.pollIntervalMs} ms`);
    }
  }
  return watchers;
}
