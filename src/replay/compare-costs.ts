import type { TurnRecord } from '../model/turn-record.ts';

export interface TurnCostChange {
  readonly session: string;
  readonly turn: string;
  readonly revision: number;
  /** Cost as recorded by the live pipeline; undefined when the store has no such turn at this revision. */
  readonly oldCost: number | undefined;
  readonly newCost: number;
}

export interface ModelCostChange {
  readonly provider: string;
  readonly model: string;
  readonly calls: number;
  readonly oldCost: number;
  readonly newCost: number;
}

/** Old (recorded) vs new (re-priced) cost of a set of turns. */
export interface CostComparison {
  readonly turns: readonly TurnCostChange[];
  /** Per provider/model, over the turns that have a recorded cost. */
  readonly models: readonly ModelCostChange[];
  /** Sums over the turns that have a recorded cost (`matched`), so old and new compare like with like. */
  readonly oldCost: number;
  readonly newCost: number;
  readonly matched: number;
  /** Re-priced turns the store has no record of at the same revision (new cost counted in `unmatchedNewCost` only). */
  readonly unmatched: number;
  readonly unmatchedNewCost: number;
}

/**
 * Compares re-priced turns with the turns the live store recorded. A turn compares only with the
 * record of the same session, turn AND revision: the same events, so any difference is the price
 * table's (a different revision would mix in events the other side did not have). Pure.
 */
export function compareCosts(repriced: readonly TurnRecord[], recorded: readonly TurnRecord[]): CostComparison {
  const byKey = new Map(recorded.map((r) => [`${r.session}\u0000${r.turn}`, r]));
  const models = new Map<string, { provider: string; model: string; calls: number; oldCost: number; newCost: number }>();
  const turns: TurnCostChange[] = [];
  let oldCost = 0,
    newCost = 0,
    matched = 0,
    unmatched = 0,
    unmatchedNewCost = 0;
  for (const t of repriced) {
    const r = byKey.get(`${t.session}\u0000${t.turn}`);
    const same = r !== undefined && r.revision === t.revision ? r : undefined;
    turns.push({ session: t.session, turn: t.turn, revision: t.revision, oldCost: same?.cost, newCost: t.cost });
    if (same === undefined) {
      unmatched++;
      unmatchedNewCost += t.cost;
      continue;
    }
    matched++;
    oldCost += same.cost;
    newCost += t.cost;
    const add = (m: TurnRecord['models'][number], side: 'oldCost' | 'newCost'): void => {
      const k = `${m.provider}\u0000${m.model}`;
      let row = models.get(k);
      if (row === undefined) {
        row = { provider: m.provider, model: m.model, calls: 0, oldCost: 0, newCost: 0 };
        models.set(k, row);
      }
      row[side] += m.cost;
      if (side === 'newCost') row.calls += m.calls;
    };
    for (const m of same.models) add(m, 'oldCost');
    for (const m of t.models) add(m, 'newCost');
  }
  const sorted = [...models.values()].sort((a, b) => b.newCost - a.newCost || (a.provider + a.model < b.provider + b.model ? -1 : 1));
  return { turns, models: sorted, oldCost, newCost, matched, unmatched, unmatchedNewCost };
}
