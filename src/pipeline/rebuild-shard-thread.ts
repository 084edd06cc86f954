/**
 * A rebuild shard's thread (started by `shardedRebuild`): its own reader's connection (it writes nothing) to
 * `<dataDir>/turnstream.db`, the shard's events and the clock ticks through the committed position
 * fed to the operators (`rebuildShard`), and the open work posted back once.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { priceTableOf, type PortablePrices } from '../events/price-table.ts';
import { clockTick } from '../log/watermark-stand-in.ts';
import { openEmbeddedStore } from '../state/open-embedded-store.ts';
import type { TurnTiming } from '../streams/turn-timing.ts';
import { describe } from './batch-effects.ts';
import { rebuildShard, type RebuildShardResult } from './rebuild-shard.ts';

export interface RebuildShardData {
  readonly dataDir: string;
  /** Which shard of how many (`readShardTicked`). */
  readonly shard: number;
  readonly of: number;
  readonly through: number;
  readonly batchSize: number;
  readonly prices: PortablePrices;
  readonly windows: TurnTiming;
}

async function run(d: RebuildShardData): Promise<RebuildShardResult> {
  const store = openEmbeddedStore({ dataDir: d.dataDir });
  try {
    const read = store.log.readShard({ shard: d.shard, of: d.of, through: d.through, batchSize: d.batchSize, tick: clockTick });
    if (read === undefined) return { ok: false, reason: 'the log cannot be read by shard (no clock ticks through the committed position, or trimmed)' };
    return await rebuildShard({ read, through: d.through, state: store.state, prices: priceTableOf(d.prices), windows: d.windows });
  } catch (error) {
    return { ok: false, reason: describe(error) };
  } finally {
    store.close();
  }
}

if (parentPort !== null) {
  const port = parentPort;
  void run(workerData as RebuildShardData).then((result) => port.postMessage(result));
}
