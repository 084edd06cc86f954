import { Observable, type OperatorFunction, type Subscriber } from 'rxjs';
import type { LlmUsageEvent, LoggedEvent } from '../events/step-event.ts';
import type { PricedCost } from '../events/price-usage.ts';
import type { BudgetAlert, BudgetRule } from './budget-rule.ts';
import { forwardEvents } from './forward-events.ts';
import { SessionDirectory, type SessionInfo } from './session-directory.ts';

export interface CheckBudgetsOptions {
  readonly rules: readonly BudgetRule[];
  readonly price: (usage: LlmUsageEvent) => PricedCost;
  /** Per-key state of a windowless rule is released after this much event time without spend. Default 24 h. */
  readonly idleReleaseMs?: number;
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
 * its source.
 */
export function checkBudgets(options: CheckBudgetsOptions): OperatorFunction<LoggedEvent, BudgetAlert> {
  return (source) =>
    new Observable<BudgetAlert>((subscriber) => {
      const budgets = new BudgetSums(options, subscriber);
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
}
