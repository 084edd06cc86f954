/**
 * The schedule and the verdict of an interleaved A/B of two versions of the code (`ab-commits.ts`).
 *
 * On this VM the second process of a back-to-back pair tends to run faster than the first, by as
 * much as a change is worth (measured: +11 % for a change run second, −1 % for the same change run
 * first). So pairs alternate which side runs first, and the verdict is the mean of the two
 * orders' differences, each order reported apart: an order effect cancels out, and shows.
 */

export type Side = 'base' | 'head';

/** One process's measured runs: events/s and the whole process's CPU µs per event, per run. */
export interface SideResult {
  readonly side: Side;
  /** Which of the pair ran first. */
  readonly first: Side;
  readonly rates: readonly number[];
  readonly cpuUsPerEvent: readonly number[];
}

/** Which side runs first in each pair: base, head, base, … */
export function pairOrder(pairs: number): [Side, Side][] {
  return Array.from({ length: pairs }, (_, i) => (i % 2 === 0 ? ['base', 'head'] : ['head', 'base']));
}

export interface OrderVerdict {
  readonly first: Side;
  readonly pairs: number;
  readonly base: { readonly rate: number; readonly cpu: number };
  readonly head: { readonly rate: number; readonly cpu: number };
  /** Head against base, in % (events/s; CPU per event). */
  readonly rateChangePct: number;
  readonly cpuChangePct: number;
  /** Pairs in which head's mean rate beat base's. */
  readonly headFaster: number;
}

export interface AbVerdict {
  readonly byOrder: readonly OrderVerdict[];
  /** Mean of the orders' changes (each order counts once, however many pairs it had). */
  readonly rateChangePct: number;
  readonly cpuChangePct: number;
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const pct = (head: number, base: number): number => (100 * (head - base)) / base;

/** The verdict over results given pair by pair (two per pair, in any order within it). */
export function abVerdict(results: readonly SideResult[]): AbVerdict {
  if (results.length % 2 !== 0) throw new Error(`results come in pairs: got ${results.length}`);
  const byOrder: OrderVerdict[] = [];
  for (const first of ['base', 'head'] as const) {
    const pairs: { base: SideResult; head: SideResult }[] = [];
    for (let i = 0; i < results.length; i += 2) {
      const a = results[i]!;
      const b = results[i + 1]!;
      if (a.first !== first) continue;
      if (a.side === b.side || a.first !== b.first) throw new Error(`pair ${i / 2 + 1} is not one base and one head run in one order`);
      pairs.push(a.side === 'base' ? { base: a, head: b } : { base: b, head: a });
    }
    if (pairs.length === 0) continue;
    const side = (s: Side) => ({ rate: mean(pairs.flatMap((p) => p[s].rates)), cpu: mean(pairs.flatMap((p) => p[s].cpuUsPerEvent)) });
    const base = side('base');
    const head = side('head');
    byOrder.push({
      first,
      pairs: pairs.length,
      base,
      head,
      rateChangePct: pct(head.rate, base.rate),
      cpuChangePct: pct(head.cpu, base.cpu),
      headFaster: pairs.filter((p) => mean(p.head.rates) > mean(p.base.rates)).length,
    });
  }
  return { byOrder, rateChangePct: mean(byOrder.map((o) => o.rateChangePct)), cpuChangePct: mean(byOrder.map((o) => o.cpuChangePct)) };
}
