import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';

/**
 * Sums this thread's GC pauses from now until `stop`: scavenges (young generation) apart from the
 * rest (mark-compact, incremental steps, weak callbacks), in seconds.
 */
export function mainThreadGc(): { stop: () => { scavenge: number; other: number } } {
  const sums = { scavenge: 0, other: 0 };
  const add = (entries: readonly PerformanceEntry[]): void => {
    for (const e of entries) {
      const kind = (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) sums.scavenge += e.duration / 1000;
      else sums.other += e.duration / 1000;
    }
  };
  const observer = new PerformanceObserver((list) => add(list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  return {
    stop: () => {
      add(observer.takeRecords());
      observer.disconnect();
      return sums;
    },
  };
}
