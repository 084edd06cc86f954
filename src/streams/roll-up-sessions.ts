import type { OperatorFunction } from 'rxjs';
import { map } from './rx.ts';
import { turnDelta, type SessionDelta } from '../model/session-totals.ts';
import type { TurnAggregate } from '../model/turn-aggregate.ts';

/**
 * Session roll-ups as differences: each turn aggregate becomes the change it makes to its session's
 * totals (the model's delta rule, `turnDelta`: a first close adds the turn; a revision adds only
 * what changed since the revision it supersedes). Holding no per-session state keeps memory flat
 * however many sessions pass; the store sums the deltas durably.
 * Emits one delta per aggregate, completes and errors with its source.
 */
export function rollUpSessions(): OperatorFunction<TurnAggregate, SessionDelta> {
  return map(turnDelta);
}
