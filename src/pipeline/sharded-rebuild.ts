import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { PriceTable } from '../events/price-table.ts';
import type { SqliteEventLog } from '../log/sqlite-event-log.ts';
import { TICK_MS } from '../log/clock-ticks.ts';
import type { Logger } from '../logger.ts';
import { clockTick, STAND_IN_SESSION } from '../log/watermark-stand-in.ts';
import type { StateCommitTarget } from '../state/session-state-store.ts';
import { mergeWindowsSnapshots } from '../streams/merge-held-snapshots.ts';
import { TURN_WINDOW_DEFAULTS, type TurnTiming } from '../streams/turn-timing.ts';
import type { WindowsSnapshot } from '../streams/window-turns.ts';
import { describe } from './batch-effects.ts';
import { rebuildShard, type RebuildShardResult } from './rebuild-shard.ts';
import type { RebuildShardData } from './rebuild-shard-thread.ts';

const THREAD = new URL(import.meta.url.endsWith('.ts') ? './rebuild-shard-thread.ts' : './rebuild-shard-thread.js', import.meta.url);

/** Below this many committed events a rebuild stays on one thread: starting another costs ~0.2 s. */
export const SHARDED_REBUILD_MIN_EVENTS = 100_000;

export interface ShardedRebuildOptions {
  readonly dataDir: string;
  readonly log: SqliteEventLog;
  /** The processor's state target (closed turns are looked up there). */
  readonly state: StateCommitTarget;
  readonly prices: PriceTable;
  readonly windows?: TurnTiming;
  readonly dedupe?: boolean;
  readonly budgetRules?: number;
  /** Threads, this one included. Default: the machine's cores, at most 4; 1 turns sharding off. */
  readonly threads?: number;
  /** Fewer committed events than this: one thread. Default `SHARDED_REBUILD_MIN_EVENTS`. */
  readonly minEvents?: number;
  readonly batchSize?: number;
  readonly logger?: Logger;
}

/** Why the rebuild cannot be sharded (then it runs on one thread, as before), or undefined. */
function unshardable(o: ShardedRebuildOptions, through: number, threads: number): string | undefined {
  const sweepMs = o.windows?.sweepIntervalMs ?? TURN_WINDOW_DEFAULTS.sweepIntervalMs;
  if (threads < 2) return 'one thread';
  if (through < (o.minEvents ?? SHARDED_REBUILD_MIN_EVENTS)) return `${through} events: fewer than a second thread pays for`;
  if (o.dedupe === true) return 'the dedupe step is on (its state is not split by shard)';
  if ((o.budgetRules ?? 0) > 0) return 'budget rules sum across sessions';
  if (o.prices.portable === undefined) return 'the price table cannot be given to a thread';
  if (!(sweepMs > 0) || sweepMs % TICK_MS !== 0) return `the sweep interval (${sweepMs} ms) is not a whole number of clock ticks`;
  return undefined;
}

/**
 * Rebuilds the turn windows' open work as of `through` (the committed position) from the start of
 * the log on several threads, for a restart with no usable checkpoint: the sessions are split into
 * shards by a hash of their id (`readShardTicked`); each shard — one on this thread, the
 * others on threads of their own with their own connection — feeds its sessions' events and the
 * clock ticks to the operators (`rebuildShard`); their snapshots are merged into the one a single
 * run over the whole log makes (`mergeWindowsSnapshots`), which the processor restores as from a
 * checkpoint.
 *
 * Undefined when it does not apply or fails (logged with the reason): the processor then feeds
 * the log itself, as it always did. It does not apply with the dedupe step, with budget rules,
 * with a price table of the caller's own, with a sweep interval that is not whole seconds, with a
 * trimmed log, or below `minEvents`.
 */
export async function shardedRebuild(o: ShardedRebuildOptions, through: number): Promise<{ windows: WindowsSnapshot } | undefined> {
  const threads = Math.max(1, Math.floor(o.threads ?? Math.min(availableParallelism(), 4)));
  const why = unshardable(o, through, threads);
  if (why !== undefined) {
    o.logger?.debug('rebuild on one thread', { reason: why });
    return undefined;
  }
  const started = performance.now();
  const batchSize = o.batchSize ?? 5000;
  const windows = { ...TURN_WINDOW_DEFAULTS, ...o.windows };
  const read = o.log.readShard({ shard: 0, of: threads, through, batchSize, tick: clockTick });
  if (read === undefined) {
    o.logger?.debug('rebuild on one thread', { reason: 'no clock ticks through the committed position, or a trimmed log' });
    return undefined;
  }
  const others = Array.from({ length: threads - 1 }, (_, k) =>
    onThread({ dataDir: o.dataDir, shard: k + 1, of: threads, through, batchSize, prices: o.prices.portable!, windows }),
  );
  // This thread's windows are restored right after the merge, in this thread: handed over as they are.
  const here = await rebuildShard({ read, through, state: o.state, prices: o.prices, windows, live: true }).catch(
    (error: unknown): RebuildShardResult => ({ ok: false, reason: describe(error) }),
  );
  const hereAt = performance.now() - started;
  const results = [here, ...(await Promise.all(others))];
  const allAt = performance.now() - started;
  const failed = results.findIndex((r) => !r.ok);
  if (failed >= 0) {
    const reason = (results[failed] as { reason: string }).reason;
    o.logger?.warn('the rebuild by shard failed; rebuilding on one thread', { shard: failed, reason });
    return undefined;
  }
  const parts = results as Extract<RebuildShardResult, { ok: true }>[];
  try {
    const merged = mergeWindowsSnapshots(
      parts.map((p) => p.windows),
      STAND_IN_SESSION,
    );
    o.logger?.info('rebuilt open work from the start of the log by shard', {
      threads,
      events: parts.map((p) => p.events),
      feedMs: parts.map((p) => p.feedMs),
      snapshotMs: parts.map((p) => p.snapshotMs),
      hereAtMs: Math.round(hereAt),
      allAtMs: Math.round(allAt),
      committed: through,
      ms: Math.round(performance.now() - started),
    });
    return { windows: merged };
  } catch (error) {
    o.logger?.warn('merging the rebuild shards failed; rebuilding on one thread', { error: describe(error) });
    return undefined;
  }
}

/** One shard on a thread of its own; a thread that fails or exits without an answer is a failed shard. */
function onThread(data: RebuildShardData): Promise<RebuildShardResult> {
  return new Promise((resolve) => {
    const worker = new Worker(THREAD, { workerData: data, name: 'turnstream-rebuild-shard' });
    worker.once('message', (m: RebuildShardResult) => {
      resolve(m);
      void worker.terminate();
    });
    worker.once('error', (error) => resolve({ ok: false, reason: `the shard's thread failed: ${describe(error)}` }));
    worker.once('exit', (code) => resolve({ ok: false, reason: `the shard's thread exited (${code}) without an answer` }));
  });
}
