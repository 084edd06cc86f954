import { Observable, type OperatorFunction } from 'rxjs';
import type { LlmUsageEvent, LoggedEvent } from '../events/step-event.ts';
import type { PricedCost } from '../events/price-usage.ts';
import type { BudgetAlert, BudgetRule } from './budget-rule.ts';
import { forwardEvents } from './forward-events.ts';

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
  const idleReleaseMs = options.idleReleaseMs ?? 86_400_000;
  return (source) =>
    new Observable<BudgetAlert>((subscriber) => {
      const sums = options.rules.map(() => new Map<string, Sums>());
      const sessions = new Map<string, { agent?: string; user?: string; lastMs: number }>();
      let watermark = Number.NEGATIVE_INFINITY;
      let lastSweep = Number.NEGATIVE_INFINITY;

      const evaluate = (ri: number, key: string, s: Sums, pos: number, session?: string): void => {
        const rule = options.rules[ri]!;
        for (const level of LEVELS) {
          const threshold = rule[level];
          if (threshold === undefined) continue;
          const over = s.total >= threshold;
          if (over === s.firing.has(level)) continue;
          if (over) s.firing.add(level);
          else s.firing.delete(level);
          subscriber.next({
            rule: rule.name, scope: rule.scope, key, level, status: over ? 'firing' : 'resolved',
            value: s.total, threshold, ...(rule.windowMs === undefined ? {} : { windowMs: rule.windowMs }),
            at: watermark, pos, ...(session === undefined ? {} : { session }),
          });
        }
      };

      /** Drops buckets that left the rolling window and re-checks; releases idle keys. */
      const sweep = (pos: number): void => {
        lastSweep = watermark;
        for (const [ri, rule] of options.rules.entries()) {
          for (const [key, s] of sums[ri]!) {
            if (rule.windowMs !== undefined) {
              for (const [start, v] of s.buckets) {
                if (start + rule.bucketMs <= watermark - rule.windowMs) {
                  s.buckets.delete(start);
                  s.total -= v;
                }
              }
              if (s.buckets.size === 0) s.total = 0;
              evaluate(ri, key, s, pos);
              if (s.buckets.size === 0 && s.firing.size === 0) sums[ri]!.delete(key);
            } else if (s.lastMs + idleReleaseMs < watermark) {
              sums[ri]!.delete(key);
            }
          }
        }
        for (const [id, info] of sessions) if (info.lastMs + idleReleaseMs < watermark) sessions.delete(id);
      };

      const onEvent = ({ pos, event: e }: LoggedEvent): void => {
        if (e.timeMs > watermark) watermark = e.timeMs;
        let info = sessions.get(e.session);
        if (info === undefined) {
          info = { lastMs: e.timeMs };
          sessions.set(e.session, info);
        }
        info.lastMs = Math.max(info.lastMs, e.timeMs);
        const agentAttr = e.attrs?.['agent.name'];
        if (info.agent === undefined && typeof agentAttr === 'string') info.agent = agentAttr;
        if (e.type === 'session.start') {
          if (e.agent !== undefined) info.agent = e.agent;
          if (e.user !== undefined) info.user = e.user;
        }
        if (e.type === 'llm.usage') {
          const cost = options.price(e).cost;
          for (const [ri, rule] of options.rules.entries()) {
            const key = rule.scope === 'session' ? e.session : rule.scope === 'agent' ? info.agent : rule.scope === 'user' ? info.user : 'global';
            if (key === undefined || (rule.match !== undefined && rule.match !== key)) continue;
            let s = sums[ri]!.get(key);
            if (s === undefined) {
              s = { buckets: new Map(), total: 0, lastMs: e.timeMs, firing: new Set() };
              sums[ri]!.set(key, s);
            }
            // A late call outside the rolling window no longer counts toward it.
            if (rule.windowMs !== undefined && e.timeMs <= watermark - rule.windowMs) continue;
            const bucket = rule.windowMs === undefined ? 0 : e.timeMs - (e.timeMs % rule.bucketMs);
            s.buckets.set(bucket, (s.buckets.get(bucket) ?? 0) + cost);
            s.total += cost;
            s.lastMs = Math.max(s.lastMs, e.timeMs);
            evaluate(ri, key, s, pos, e.session);
          }
        }
        if (watermark - lastSweep >= 1_000) sweep(pos);
        if (e.type === 'session.end') sessions.delete(e.session);
      };

      const subscription = forwardEvents(source, subscriber, onEvent);
      return () => subscription.unsubscribe();
    });
}
