import { setTimeout as sleep } from 'node:timers/promises';

/** Wall-clock time and waiting, injected so tests run on virtual time. */
export interface PacerClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: PacerClock = {
  now: () => performance.now(),
  sleep: (ms) => sleep(ms, undefined, { ref: true }),
};

/**
 * `--speed N`: paces a replay so that event time passes N times faster than wall time. The first
 * event anchors event time to the wall clock; each later event is released no earlier than
 * `anchor + (eventTime − firstEventTime) / N`. Events earlier than one already released (out of
 * order in the log) go at once: time never runs backwards. A late start (slow reading or printing)
 * is not made up by rushing: the anchor follows the wall clock whenever the replay falls behind,
 * so the gaps between events keep their scaled length. Resolves when the event may be fed.
 */
export function createPacer({ speed, clock = systemClock }: { speed: number; clock?: PacerClock }): (eventTimeMs: number) => Promise<void> {
  if (!(speed > 0) || !Number.isFinite(speed)) throw new RangeError(`speed must be a positive number, got ${speed}`);
  let anchorWall: number | undefined;
  let anchorEvent = 0;
  let latest = Number.NEGATIVE_INFINITY;
  return async (eventTimeMs) => {
    if (anchorWall === undefined) {
      anchorWall = clock.now();
      anchorEvent = latest = eventTimeMs;
      return;
    }
    if (eventTimeMs <= latest) return;
    const due = anchorWall + (eventTimeMs - anchorEvent) / speed;
    const now = clock.now();
    const wait = due - now;
    // Behind schedule: re-anchor here, so the next gap is waited in full rather than skipped.
    if (wait <= 0) {
      anchorWall = now;
      anchorEvent = eventTimeMs;
    } else await clock.sleep(wait);
    latest = eventTimeMs;
  };
}
