import { priceUsage } from '../../events/price-usage.ts';
import type { PriceTable } from '../../events/price-table.ts';
import type { LlmUsageEvent } from '../../events/step-event.ts';
import type { OutgoingEvent } from './mapped-event.ts';

/** One session as the importer mapped it (before the pipeline's windows): for the summary. */
export interface SessionTally {
  readonly session: string;
  project: string | undefined;
  turns: number;
  llmCalls: number;
  toolCalls: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  /** USD at the price table's rates; calls of unpriced models add nothing (see `unpricedModels`). */
  cost: number;
  readonly unpricedModels: Set<string>;
  firstMs: number;
  lastMs: number;
}

/**
 * Tallies mapped events per session, the way the pipeline will count them once their turns close:
 * tokens per API call (each call id once), cost from the same `priceUsage`. Events seen twice (a
 * copy of a file, a re-read) are counted once by id.
 */
export class SessionTallies {
  private readonly prices: PriceTable | undefined;
  private readonly bySession = new Map<string, SessionTally>();
  private readonly seen = new Set<string>();

  constructor(prices?: PriceTable) {
    this.prices = prices;
  }

  add(event: OutgoingEvent, timeMs: number): void {
    if (this.seen.has(event.id)) return;
    this.seen.add(event.id);
    let t = this.bySession.get(event.session);
    if (t === undefined) {
      t = {
        session: event.session,
        project: undefined,
        turns: 0,
        llmCalls: 0,
        toolCalls: 0,
        inputTokens: 0,
        outputTokens: 0,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
        cost: 0,
        unpricedModels: new Set(),
        firstMs: timeMs,
        lastMs: timeMs,
      };
      this.bySession.set(event.session, t);
    }
    t.firstMs = Math.min(t.firstMs, timeMs);
    t.lastMs = Math.max(t.lastMs, timeMs);
    switch (event.type) {
      case 'session.start': {
        const project = event.attrs?.['claude.project'];
        if (typeof project === 'string') t.project = project;
        break;
      }
      case 'turn.start':
        t.turns++;
        break;
      case 'tool.start':
        t.toolCalls++;
        break;
      case 'llm.usage': {
        if (event.attrs?.['claude.continued'] !== true) t.llmCalls++;
        t.inputTokens += event.inputTokens;
        t.outputTokens += event.outputTokens;
        t.cacheReadTokens += event.cacheReadTokens ?? 0;
        t.cacheWriteTokens += event.cacheWriteTokens ?? 0;
        if (this.prices !== undefined) {
          const priced = priceUsage({ ...event, timeMs } as LlmUsageEvent, this.prices);
          if (priced.source === 'unpriced') t.unpricedModels.add(event.model);
          t.cost += priced.cost;
        }
        break;
      }
      default:
        break;
    }
  }

  /** Sessions, most recent activity first. */
  list(): SessionTally[] {
    return [...this.bySession.values()].sort((a, b) => b.lastMs - a.lastMs);
  }
}
