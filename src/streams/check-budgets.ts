import type { OperatorFunction, Subscriber } from 'rxjs';
import { Observable } from './rx.ts';
import type { LlmUsageEvent, LoggedEvent } from '../events/step-event.ts';
import type { PricedCost } from '../events/price-usage.ts';
import type { BudgetAlert, BudgetRule } from './budget-rule.ts';
import { forwardEvents } from './forward-events.ts';
import type { OperatorState } from './operator-state.ts';
import { SessionDirectory, type SessionInfo } from './session-directory.ts';
import { finiteOrNull, SnapshotReader } from './snapshot-reader.ts';

export interface CheckBudgetsOptions {
  readonly rules: readonly BudgetRule[];
  readonly price: (usage: LlmUsageEvent) => PricedCost;
  /** Per-key state of a windowless rule is released after this much event time without spend. Default 24 h. */
  readonly idleReleaseMs?: number;
  /** Checkpoints: the state to start from (taken with the same rules), and a way to read it between events. */
  readonly state?: OperatorState<BudgetsSnapshot>;
}

/** `[key, buckets as [start, spend], total, lastMs, firing levels]`: one sum of one rule. */
type SumSnapshot = readonly [string, readonly (readonly [number, number])[], number, number, readonly ('soft' | 'hard')[]];

/** The state of `checkBudgets` as JSON-safe data; every list in its map's insertion order. */
export interface BudgetsSnapshot {
  readonly v: 1;
  /** Watermark and the watermark at the latest sweep; null before the first event. */
  readonly wm: number | null;
  readonly lastSweep: number | null;
  /** Per rule, in the rules' order: its sums. */
  readonly sums: readonly (readonly SumSnapshot[])[];
  /** `[session, agent, user, lastMs]`, null for absent. */
  readonly sessions: readonly (readonly [string, string | null, string | null, number | null])[];
}

interface Sums {
  /** Rolling rules: spend per bucket start; windowless: one bucket at 0. */
  readonly buckets: Map<number, number>;
  total: number;
  lastMs: number;
  readonly firing: Set<'soft' | 'hard'>;
}

const LEVELS = ['soft', 'hard'] as const;

/**
 * Live budget checks on spend, between LLM calls: every priced `llm.usage` adds its cost to the
 * sums its rules watch (per session, agent, user, or global; over the whole session or a rolling
 * event-time window), and a sum crossing a rule's soft or hard threshold emits ONE `firing` alert;
 * when a rolling sum falls back below (the window moved on), one `resolved`. Event time only, so
 * the same log gives the same alerts at the same positions. Errors pass through; completes with
 * its source. With `state.initial`, starts from that snapshot; one that is not structurally valid
 * (or taken with another number of rules) makes the output error at subscription.
 */
export function checkBudgets(options: CheckBudgetsOptions): OperatorFunction<LoggedEvent, BudgetAlert> {
  return (source) =>
    new Observable<BudgetAlert>((subscriber) => {
      const budgets = new BudgetSums(options, subscriber);
      options.state?.expose?.(() => budgets.snapshot());
      const subscription = forwardEvents(source, subscriber, (logged) => budgets.onEvent(logged));
      return () => subscription.unsubscribe();
    });
}

/** The state of one subscription of `checkBudgets`: sums per rule and key, and the live sessions. */
class BudgetSums {
  private readonly rules: readonly BudgetRule[];
  private readonly price: (usage: LlmUsageEvent) => PricedCost;
  private readonly idleReleaseMs: number;
  private readonly out: Subscriber<BudgetAlert>;
  private readonly sums: Map<string, Sums>[];
  private readonly sessions = new SessionDirectory();
  private watermark = Number.NEGATIVE_INFINITY;
  private lastSweep = Number.NEGATIVE_INFINITY;

  constructor(options: CheckBudgetsOptions, out: Subscriber<BudgetAlert>) {
    this.rules = options.rules;
    this.price = options.price;
    this.idleReleaseMs = options.idleReleaseMs ?? 86_400_000;
    this.out = out;
    this.sums = options.rules.map(() => new Map<string, Sums>());
    if (options.state?.initial !== undefined) this.restore(options.state.initial);
  }

  onEvent({ pos, event: e }: LoggedEvent): void {
    if (e.timeMs > this.watermark) this.watermark = e.timeMs;
    const info = this.sessions.observe(e);
    if (e.type === 'llm.usage') this.spend(e, this.price(e).cost, info, pos);
    if (this.watermark - this.lastSweep >= 1_000) this.sweep(pos);
    if (e.type === 'session.end') this.sessions.delete(e.session);
  }

  /** Adds one call's cost to every sum a rule watches for it, and checks the thresholds. */
  private spend(e: LlmUsageEvent, cost: number, info: SessionInfo, pos: number): void {
    for (const [ri, rule] of this.rules.entries()) {
      const key = rule.scope === 'session' ? e.session : rule.scope === 'agent' ? info.agent : rule.scope === 'user' ? info.user : 'global';
      if (key === undefined || (rule.match !== undefined && rule.match !== key)) continue;
      let s = this.sums[ri]!.get(key);
      if (s === undefined) {
        s = { buckets: new Map(), total: 0, lastMs: e.timeMs, firing: new Set() };
        this.sums[ri]!.set(key, s);
      }
      // A late call outside the rolling window no longer counts toward it.
      if (rule.windowMs !== undefined && e.timeMs <= this.watermark - rule.windowMs) continue;
      const bucket = rule.windowMs === undefined ? 0 : e.timeMs - (e.timeMs % rule.bucketMs);
      s.buckets.set(bucket, (s.buckets.get(bucket) ?? 0) + cost);
      s.total += cost;
      s.lastMs = Math.max(s.lastMs, e.timeMs);
      this.evaluate(ri, key, s, pos, e.session);
    }
  }

  /** Emits an alert for each level whose crossing state changed. */
  private evaluate(ri: number, key: string, s: Sums, pos: number, session?: string): void {
    const rule = this.rules[ri]!;
    for (const level of LEVELS) {
      const threshold = rule[level];
      if (threshold === undefined) continue;
      const over = s.total >= threshold;
      if (over === s.firing.has(level)) continue;
      if (over) s.firing.add(level);
      else s.firing.delete(level);
      this.out.next({
        rule: rule.name,
        scope: rule.scope,
        key,
        level,
        status: over ? 'firing' : 'resolved',
        value: s.total,
        threshold,
        ...(rule.windowMs === undefined ? {} : { windowMs: rule.windowMs }),
        at: this.watermark,
        pos,
        ...(session === undefined ? {} : { session }),
      });
    }
  }

  /** Drops buckets that left the rolling window and re-checks; releases idle keys and sessions. */
  private sweep(pos: number): void {
    const { watermark } = this;
    this.lastSweep = watermark;
    for (const [ri, rule] of this.rules.entries()) {
      const sums = this.sums[ri]!;
      for (const [key, s] of sums) {
        if (rule.windowMs !== undefined) {
          for (const [start, v] of s.buckets) {
            if (start + rule.bucketMs <= watermark - rule.windowMs) {
              s.buckets.delete(start);
              s.total -= v;
            }
          }
          if (s.buckets.size === 0) s.total = 0;
          this.evaluate(ri, key, s, pos);
          if (s.buckets.size === 0 && s.firing.size === 0) sums.delete(key);
        } else if (s.lastMs + this.idleReleaseMs < watermark) {
          sums.delete(key);
        }
      }
    }
    this.sessions.release((info) => info.lastMs + this.idleReleaseMs < watermark);
  }

  snapshot(): BudgetsSnapshot {
    return {
      v: 1,
      wm: finiteOrNull(this.watermark),
      lastSweep: finiteOrNull(this.lastSweep),
      sums: this.sums.map((sums) => [...sums].map(([key, s]): SumSnapshot => [key, [...s.buckets], s.total, s.lastMs, [...s.firing]])),
      sessions: [...this.sessions.entries()].map(([id, info]) => [id, info.agent ?? null, info.user ?? null, finiteOrNull(info.lastMs)]),
    };
  }

  private restore(data: unknown): void {
    const r: SnapshotReader = new SnapshotReader('checkBudgets');
    const o = r.object(data, 'the snapshot');
    if (o['v'] !== 1) r.fail('v', 'is not 1');
    const inf = Number.NEGATIVE_INFINITY;
    this.watermark = r.numberOr(o['wm'], 'wm', inf);
    this.lastSweep = r.numberOr(o['lastSweep'], 'lastSweep', inf);
    const perRule = r.array(o['sums'], 'sums', this.rules.length);
    for (const [ri, list] of perRule.entries()) {
      for (const [i, x] of r.array(list, `sums[${ri}]`).entries()) {
        const where = `sums[${ri}][${i}]`;
        const [key, buckets, total, lastMs, firing] = r.array(x, where, 5);
        const s: Sums = { buckets: new Map(), total: r.number(total, `${where} total`), lastMs: r.number(lastMs, `${where} lastMs`), firing: new Set() };
        for (const b of r.array(buckets, `${where} buckets`)) {
          const [start, v] = r.array(b, `${where} bucket`, 2);
          s.buckets.set(r.number(start, `${where} bucket`), r.number(v, `${where} bucket`));
        }
        for (const level of r.array(firing, `${where} firing`)) {
          if (level !== 'soft' && level !== 'hard') r.fail(`${where} firing`, 'holds a level other than soft or hard');
          s.firing.add(level);
        }
        this.sums[ri]!.set(r.string(key, `${where} key`), s);
      }
    }
    for (const [i, x] of r.array(o['sessions'], 'sessions').entries()) {
      const where = `sessions[${i}]`;
      const [id, agent, user, lastMs] = r.array(x, where, 4);
      const a = r.optionalString(agent, `${where} agent`);
      const u = r.optionalString(user, `${where} user`);
      this.sessions.restore(r.string(id, `${where} id`), {
        lastMs: r.numberOr(lastMs, `${where} lastMs`, inf),
        ...(a === undefined ? {} : { agent: a }),
        ...(u === undefined ? {} : { user: u }),
      });
    }
  }
}
