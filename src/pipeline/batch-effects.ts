import type { DeadLetter } from '../events/reject-reason.ts';
import type { SessionDelta } from '../model/session-totals.ts';
import type { StateWrite } from '../model/state-write.ts';
import type { TurnAggregate } from '../model/turn-aggregate.ts';
import type { BudgetAlert } from '../streams/budget-rule.ts';

/** What one processed batch produced. */
export interface BatchEffects {
  readonly aggregates: TurnAggregate[];
  readonly writes: StateWrite[];
  readonly deltas: SessionDelta[];
  readonly letters: DeadLetter[];
  readonly alerts: BudgetAlert[];
}

export const noEffects = (): BatchEffects => ({ aggregates: [], writes: [], deltas: [], letters: [], alerts: [] });

/** Feeding the event at `pos` threw inside the operators: that event is at fault, not the batch. */
export class FeedFault extends Error {
  readonly pos: number;
  constructor(pos: number, cause: unknown) {
    super(`processing the event at log position ${pos} failed: ${describe(cause)}`, { cause });
    this.pos = pos;
  }
}

export const describe = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

/** JSON text, or `undefined` where the value cannot be serialised (too deep for the stack, a cycle). */
export function tryStringify(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}
