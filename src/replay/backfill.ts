import type { PriceTable } from '../events/price-table.ts';
import { replacesRevision, turnRecord, type TurnRecord } from '../model/turn-record.ts';
import { BackfillTotals, type BackfillSummary } from './backfill-totals.ts';

export type { BackfillSessionRow, BackfillSummary } from './backfill-totals.ts';
import { compareCosts } from './compare-costs.ts';
import { discardingCommits } from './discarding-commits.ts';
import type { ReplayableLog } from './open-replay-logs.ts';
import { replayLog } from './replay-log.ts';

export interface BackfillProgress {
  /** Log positions covered so far, over all logs, and their total (the logs' heads when it began). */
  readonly done: number;
  readonly total: number;
  /** Turns in range found so far. */
  readonly turns: number;
}

export interface BackfillOptions {
  /** The logs to replay, in order: the embedded log, or each partition of the Kafka events topic. */
  readonly logs: { readonly labels: readonly string[]; open(i: number): Promise<ReplayableLog>; heads(): Promise<number[]> };
  readonly prices: PriceTable;
  readonly windows?: { readonly turnIdleTimeoutMs?: number; readonly graceMs?: number };
  /** Turns whose start (event time) is at or after `fromMs` and before `toMs` are re-priced. */
  readonly fromMs?: number;
  readonly toMs?: number;
  /** The live store's turns of a session: the old cost. */
  readonly recorded: (session: string) => Promise<readonly TurnRecord[]>;
  /** Receives each re-priced turn (its latest revision, as the store keeps turns), per log in start order. */
  readonly write?: (record: TurnRecord) => void | Promise<void>;
  readonly onProgress?: (p: BackfillProgress) => void;
}

/**
 * Re-derives every turn of every session from the log(s) with a price table, through the live
 * Processor, and keeps the latest revision of each turn that STARTED in [from, to): ranges that
 * do not overlap share no turn, so consecutive months add up. Each log is replayed whole (the
 * watermark is global to a log, so a turn's close depends on events outside the range; and a
 * turn started in range may close, or be revised, after it). Memory holds only the turns in range
 * of the log being replayed: the Processor commits into a store that keeps nothing.
 */
export async function backfill(o: BackfillOptions): Promise<BackfillSummary> {
  const heads = await o.logs.heads();
  const total = heads.reduce((a, b) => a + b, 0);
  const totals = new BackfillTotals();
  let events = 0,
    done = 0;
  for (let i = 0; i < o.logs.labels.length; i++) {
    const onProgress = (pos: number, inRange: number): void => o.onProgress?.({ done: done + pos, total, turns: totals.turns + inRange });
    const { records, fed } = await replayInRange(o, i, onProgress);
    events += fed;
    done += heads[i] ?? 0;
    for (const [session, list] of bySession(records)) totals.addSession(session, list.length, compareCosts(list, await o.recorded(session)));
    for (const t of records) {
      await o.write?.(t);
      totals.addTurn(t);
    }
    o.onProgress?.({ done, total, turns: totals.turns });
  }
  return totals.summary(events);
}

/** Replays log `i` whole and returns the latest revision of each turn that started in range, in start order. */
async function replayInRange(
  o: BackfillOptions,
  i: number,
  onProgress: (pos: number, inRange: number) => void,
): Promise<{ records: TurnRecord[]; fed: number }> {
  const from = o.fromMs ?? Number.NEGATIVE_INFINITY;
  const to = o.toMs ?? Number.POSITIVE_INFINITY;
  const inRange = new Map<string, TurnRecord>();
  const opened = await o.logs.open(i);
  let fed: number;
  try {
    const r = await replayLog({
      log: opened.log,
      prices: o.prices,
      state: discardingCommits(),
      ...(o.windows === undefined ? {} : { windows: o.windows }),
      onAggregate: (a) => {
        const key = `${a.session}\u0000${a.turn}`;
        // The latest revision decides, as in the store: a revision may move a turn's start.
        if (!replacesRevision(a, inRange.get(key))) return;
        if (a.startMs >= from && a.startMs < to) inRange.set(key, turnRecord(a));
        else inRange.delete(key);
      },
      onProgress: (pos) => onProgress(pos, inRange.size),
    });
    fed = r.fed;
  } finally {
    await opened.release();
  }
  const records = [...inRange.values()].sort(
    (a, b) => a.startMs - b.startMs || (a.session < b.session ? -1 : a.session > b.session ? 1 : a.turn < b.turn ? -1 : 1),
  );
  return { records, fed };
}

function bySession(records: readonly TurnRecord[]): Map<string, TurnRecord[]> {
  const grouped = new Map<string, TurnRecord[]>();
  for (const t of records) {
    const list = grouped.get(t.session);
    if (list === undefined) grouped.set(t.session, [t]);
    else list.push(t);
  }
  return grouped;
}
