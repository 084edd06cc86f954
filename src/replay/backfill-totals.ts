import type { TurnRecord } from '../model/turn-record.ts';
import type { CostComparison, ModelCostChange } from './compare-costs.ts';

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

type SessionRow = { turns: number; oldCost: number; newCost: number; unmatched: number };

/**
 * The running totals of a backfill: per session, per model and overall, added one session's
 * comparison at a time, so memory holds rows, not turns. `summary` sorts the rows for the report:
 * sessions by cost change (largest first), models by new cost.
 */
export class BackfillTotals {
  #sessions = new Map<string, SessionRow>();
  #models = new Map<string, ModelCostChange>();
  #cost = { oldCost: 0, newCost: 0, matched: 0, unmatched: 0, unmatchedNewCost: 0 };
  #turns = 0;
  #firstStartMs: number | undefined;
  #lastStartMs: number | undefined;

  get turns(): number {
    return this.#turns;
  }

  /** One session's turns in range (of one log) and their comparison with the recorded turns. */
  addSession(session: string, turns: number, c: Omit<CostComparison, 'turns'>): void {
    const row = this.#sessions.get(session) ?? { turns: 0, oldCost: 0, newCost: 0, unmatched: 0 };
    row.turns += turns;
    row.oldCost += c.oldCost;
    row.newCost += c.newCost + c.unmatchedNewCost;
    row.unmatched += c.unmatched;
    this.#sessions.set(session, row);
    this.#cost.oldCost += c.oldCost;
    this.#cost.newCost += c.newCost;
    this.#cost.matched += c.matched;
    this.#cost.unmatched += c.unmatched;
    this.#cost.unmatchedNewCost += c.unmatchedNewCost;
    for (const m of c.models) {
      const k = `${m.provider}\u0000${m.model}`;
      const prev = this.#models.get(k);
      this.#models.set(
        k,
        prev === undefined ? m : { ...prev, calls: prev.calls + m.calls, oldCost: prev.oldCost + m.oldCost, newCost: prev.newCost + m.newCost },
      );
    }
  }

  /** A turn in range was written: counts it and widens the start-time span. */
  addTurn(t: TurnRecord): void {
    this.#turns++;
    this.#firstStartMs = Math.min(this.#firstStartMs ?? t.startMs, t.startMs);
    this.#lastStartMs = Math.max(this.#lastStartMs ?? t.startMs, t.startMs);
  }

  summary(events: number): BackfillSummary {
    const sessions: BackfillSessionRow[] = [...this.#sessions]
      .map(([session, s]) => ({ session, ...s }))
      .sort((a, b) => b.newCost - b.oldCost - (a.newCost - a.oldCost) || (a.session < b.session ? -1 : 1));
    return {
      events,
      turns: this.#turns,
      sessions,
      models: [...this.#models.values()].sort((a, b) => b.newCost - a.newCost),
      ...this.#cost,
      firstStartMs: this.#firstStartMs,
      lastStartMs: this.#lastStartMs,
    };
  }
}
