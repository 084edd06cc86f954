import type { PriceTable } from '../events/price-table.ts';
import { replacesRevision, turnRecord, type TurnRecord } from '../model/turn-record.ts';
import { compareCosts, type CostComparison, type ModelCostChange } from './compare-costs.ts';
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

export interface BackfillSessionRow {
  readonly session: string;
  readonly turns: number;
  readonly oldCost: number;
  readonly newCost: number;
  /** Turns the live store has no record of at the same revision. */
  readonly unmatched: number;
}

/** The cost comparison of every turn in range (without the per-turn list), plus what was replayed. */
export interface BackfillSummary extends Omit<CostComparison, 'turns'> {
  /** Events replayed (all logs, whole). */
  readonly events: number;
  readonly turns: number;
  readonly sessions: readonly BackfillSessionRow[];
  /** Start times of the first and last turn in range (epoch ms); undefined without turns. */
  readonly firstStartMs: number | undefined;
  readonly lastStartMs: number | undefined;
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
  const from = o.fromMs ?? Number.NEGATIVE_INFINITY;
  const to = o.toMs ?? Number.POSITIVE_INFINITY;
  const heads = await o.logs.heads();
  const total = heads.reduce((a, b) => a + b, 0);
  const sessions = new Map<string, { turns: number; oldCost: number; newCost: number; unmatched: number }>();
  const models = new Map<string, ModelCostChange>();
  let events = 0, turns = 0, oldCost = 0, newCost = 0, matched = 0, unmatched = 0, unmatchedNewCost = 0, done = 0;
  let firstStartMs: number | undefined, lastStartMs: number | undefined;

  for (let i = 0; i < o.logs.labels.length; i++) {
    const inRange = new Map<string, TurnRecord>();
    const opened = await o.logs.open(i);
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
        onProgress: (pos) => o.onProgress?.({ done: done + pos, total, turns: turns + inRange.size }),
      });
      events += r.fed;
    } finally {
      await opened.release();
    }
    done += heads[i] ?? 0;
    const records = [...inRange.values()].sort((a, b) => a.startMs - b.startMs || (a.session < b.session ? -1 : a.session > b.session ? 1 : a.turn < b.turn ? -1 : 1));
    const bySession = new Map<string, TurnRecord[]>();
    for (const t of records) {
      const list = bySession.get(t.session);
      if (list === undefined) bySession.set(t.session, [t]);
      else list.push(t);
    }
    for (const [session, list] of bySession) {
      const c = compareCosts(list, await o.recorded(session));
      const row = sessions.get(session) ?? { turns: 0, oldCost: 0, newCost: 0, unmatched: 0 };
      row.turns += list.length;
      row.oldCost += c.oldCost;
      row.newCost += c.newCost + c.unmatchedNewCost;
      row.unmatched += c.unmatched;
      sessions.set(session, row);
      oldCost += c.oldCost;
      newCost += c.newCost;
      matched += c.matched;
      unmatched += c.unmatched;
      unmatchedNewCost += c.unmatchedNewCost;
      for (const m of c.models) {
        const k = `${m.provider}\u0000${m.model}`;
        const prev = models.get(k);
        models.set(k, prev === undefined ? m : { ...prev, calls: prev.calls + m.calls, oldCost: prev.oldCost + m.oldCost, newCost: prev.newCost + m.newCost });
      }
    }
    for (const t of records) {
      await o.write?.(t);
      firstStartMs = Math.min(firstStartMs ?? t.startMs, t.startMs);
      lastStartMs = Math.max(lastStartMs ?? t.startMs, t.startMs);
    }
    turns += records.length;
    o.onProgress?.({ done, total, turns });
  }
  return {
    events,
    turns,
    sessions: [...sessions].map(([session, s]) => ({ session, ...s })).sort((a, b) => b.newCost - b.oldCost - (a.newCost - a.oldCost) || (a.session < b.session ? -1 : 1)),
    models: [...models.values()].sort((a, b) => b.newCost - a.newCost),
    oldCost,
    newCost,
    matched,
    unmatched,
    unmatchedNewCost,
    firstStartMs,
    lastStartMs,
  };
}
