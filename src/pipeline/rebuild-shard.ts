import type { LoggedEvent } from '../events/step-event.ts';
import type { PriceTable } from '../events/price-table.ts';
import type { StateCommitTarget } from '../state/session-state-store.ts';
import type { TurnTiming } from '../streams/turn-timing.ts';
import type { WindowsSnapshot } from '../streams/window-turns.ts';
import { describe, noEffects } from './batch-effects.ts';
import { screenLoggedEvent } from './screen-logged-event.ts';
import { StoreClosedTurns } from './store-closed-turns.ts';
import { wireOperators } from './wire-operators.ts';
import { unreadable } from '../log/unreadable-event.ts';
import { STAND_IN_SESSION } from '../log/watermark-stand-in.ts';

export interface RebuildShardInput {
  /** The shard's events and the clock ticks through `through`, in log order (`readShardTicked`). */
  readonly read: AsyncIterable<LoggedEvent[]>;
  /** The committed position: every effect at or below it is durable, so nothing is emitted. */
  readonly through: number;
  /** Where closed turns are looked up (the stored turn records), as the processor does. */
  readonly state: StateCommitTarget;
  readonly prices: PriceTable;
  readonly windows: TurnTiming;
  /** The snapshot is restored in this thread right away: windows handed over as they are (`SnapshotOptions.live`). */
  readonly live?: boolean;
}

export type RebuildShardResult =
  | {
      readonly ok: true;
      readonly windows: WindowsSnapshot;
      /** The shard's own events fed, and the milliseconds spent feeding them and taking the snapshot. */
      readonly events: number;
      readonly feedMs: number;
      readonly snapshotMs: number;
    }
  | { readonly ok: false; readonly reason: string };

/**
 * One shard of a rebuild from the start of the log (`shardedRebuild`): the processor's operators,
 * wired as the processor wires them and fed as it feeds them (screened; effects suppressed through
 * `through`), over a shard's events and the clock ticks. Returns the windows' open work with the
 * position every session and turn was made at, for the merge.
 *
 * Refuses (`ok: false`, the caller rebuilds on one thread) what a shard cannot reproduce: an event
 * the operators throw on (the processor dead-letters it and starts over), and an event screened
 * out that has (or had, unreadable now) an event time — the clock ticks were written from every appended event, so one the
 * operators never see may have made a tick that a run over the whole log does not sweep at.
 */
export async function rebuildShard(input: RebuildShardInput): Promise<RebuildShardResult> {
  const { through } = input;
  const closedTurns = new StoreClosedTurns(input.state, () => through);
  let fed = 0;
  let fault: { error: unknown } | undefined;
  const effects = noEffects();
  const unreachable = (): never => {
    throw new Error('a rebuild shard emits nothing: every effect is at or below the committed position');
  };
  const ops = wireOperators({
    options: { prices: input.prices, windows: input.windows },
    closedTurns,
    committed: () => through,
    fed: () => fed,
    effects: () => effects,
    fault: (error) => {
      fault ??= { error };
    },
    duplicateLetter: unreachable,
    rawOf: unreachable,
    trackOrder: true,
  });
  let events = 0;
  const started = performance.now();
  try {
    for await (const batch of input.read) {
      closedTurns.prefetch(batch);
      for (const logged of batch) {
        fed = logged.pos;
        const rejected = screenLoggedEvent(logged.event);
        if (rejected !== undefined) {
          if (Number.isFinite(logged.event.timeMs) || unreadable(logged.event) !== undefined)
            return { ok: false, reason: `the event at ${logged.pos} is dead-lettered (${rejected}) and has an event time` };
          continue;
        }
        ops.input.next(logged);
        if (logged.event.session !== STAND_IN_SESSION) events++;
        if (fault !== undefined) return { ok: false, reason: `processing the event at ${logged.pos} failed: ${describe(fault.error)}` };
      }
    }
    if (fed > through) return { ok: false, reason: `read past the committed position (${fed} > ${through})` };
    const fedAt = performance.now();
    const { windows } = ops.snapshot({ order: true, live: input.live === true });
    return { ok: true, windows, events, feedMs: Math.round(fedAt - started), snapshotMs: Math.round(performance.now() - fedAt) };
  } finally {
    ops.complete();
  }
}
