import type { DeadLetter } from '../events/reject-reason.ts';
import type { PriceTable } from '../events/price-table.ts';
import type { LoggedEvent } from '../events/step-event.ts';
import type { DeadLetterStore } from '../log/dead-letter-store.ts';
import type { EventLog } from '../log/event-log.ts';
import { Processor } from '../pipeline/processor.ts';
import { MemorySessionStateStore } from '../state/memory-session-state-store.ts';
import type { SessionStateStore, StateCommitTarget } from '../state/session-state-store.ts';
import type { TurnAggregate } from '../model/turn-aggregate.ts';
import { collectDeadLetters } from './collect-dead-letters.ts';
import { PendingTurns, type OpenTurn } from './pending-turns.ts';
import { ReplayFeeder } from './replay-feeder.ts';
import { TURN_WINDOW_DEFAULTS } from '../streams/window-turns.ts';

/** Where a replay stops: before the first event later than an event time, or right after an event. */
export type ReplayStop = { readonly kind: 'time'; readonly ms: number } | { readonly kind: 'event'; readonly id: string };

/**
 * A read of the log for one session: that session's events, and in place of the others' only
 * what moves the turn windows' clock, as `watermarkStandIn`s: every other event (position, id and
 * event time), or, where the backend keeps them, only the clock ticks (the embedded log: its read
 * is as long as the session, not the log). With a `stop`, the event it falls on is yielded even
 * when it is another session's. `sweepMs` is the windows' sweep interval (ticks carry every sweep
 * only when it is a whole number of seconds; otherwise the read falls back to every event).
 */
export type FocusedRead = (
  session: string,
  options: { readonly batchSize: number; readonly sweepMs: number; readonly stop?: ReplayStop },
) => AsyncIterable<LoggedEvent[]>;

/** One session to follow: only its outputs are derived; the other sessions only move the watermark. */
export interface ReplayFocus {
  readonly session: string;
  /**
   * The session's last log position, when the caller knows it: past it, once none of the session's
   * turns is open, nothing more can change for the session, and the replay stops reading.
   */
  readonly lastPos?: number;
}

export interface ReplayLogOptions<S extends StateCommitTarget = SessionStateStore> {
  /** The log to replay from its start: the embedded log, or ONE partition of the Kafka events topic. */
  readonly log: Pick<EventLog, 'read' | 'dedupesOnAppend'>;
  /** The same log, read for a focus without parsing other sessions' events (used with `focus` when given). */
  readonly focusedRead?: FocusedRead;
  readonly prices: PriceTable;
  /** The live pipeline's window settings (idle timeout, grace): the same log and settings give the same outputs. */
  readonly windows?: { readonly turnIdleTimeoutMs?: number; readonly graceMs?: number };
  /** Where the Processor commits. Default: a fresh `MemorySessionStateStore` (the live store is never touched). */
  readonly state?: S;
  readonly focus?: ReplayFocus;
  readonly stop?: ReplayStop;
  /**
   * Awaited before each event of the followed session (each event when there is no focus) is fed,
   * with its event time: `--speed` pacing. The batch so far is processed first, so what the event's
   * predecessors produced is out before the wait.
   */
  readonly pace?: (timeMs: number) => Promise<void>;
  /** Each event of the followed session (each event without focus), as it is fed. */
  readonly onEvent?: (logged: LoggedEvent) => void;
  /** Each aggregate the Processor emits (revisions included), in emission order. */
  readonly onAggregate?: (a: TurnAggregate) => void;
  /** After each processed batch, with the last log position fed. */
  readonly onProgress?: (pos: number) => void;
  readonly batchSize?: number;
}

export interface ReplayLogResult<S extends StateCommitTarget = SessionStateStore> {
  readonly state: S;
  /** Log position of the last event fed (0: nothing). */
  readonly position: number;
  /** Events fed, all sessions. */
  readonly fed: number;
  /** Events of the followed session fed (all events without focus). */
  readonly focusEvents: number;
  /** Why reading stopped: the end of the log, the stop point, or the followed session was settled. */
  readonly ended: 'end' | 'stop' | 'settled';
  /** Whether a `stop` by event id found its event. */
  readonly stopFound: boolean;
  /** Late and duplicate events the windows turned away (of the followed session only, with focus). */
  readonly letters: readonly DeadLetter[];
  /** Turns of the followed session still open where the replay stopped (empty without focus). */
  readonly open: readonly OpenTurn[];
}

/**
 * Replays an event log through the live pipeline's own `Processor` (the same operators, pricing,
 * dedupe rule and commit path) over a store of its own, from the log's first event.
 *
 * The whole log is fed, not just one session's events: turn windows run on a watermark that is
 * global to the log, so abandoning idle turns and turning away late events depend on every
 * session's event times. With a `focus`, other sessions' events are fed as watermark stand-ins
 * (see `watermarkStandIn`), or, through a `focusedRead` that has them, only the clock ticks (see
 * `clockTick`), which keeps the followed session's outputs identical at a fraction of the cost. Deduplication follows the log (`dedupesOnAppend` false, as on Kafka, means the
 * Processor dedupes by id, as live). Resolves when the log (or the stop point) is reached; rejects
 * when reading or processing fails.
 */
export async function replayLog<S extends StateCommitTarget = SessionStateStore>(o: ReplayLogOptions<S>): Promise<ReplayLogResult<S>> {
  // Without a target, a fresh memory store: a full store, so it satisfies any `S` a caller reads back.
  const state = o.state ?? (new MemorySessionStateStore() as unknown as S);
  const focus = o.focus?.session;
  const deadLetters = collectDeadLetters(focus);
  const processor = replayProcessor(o, state, deadLetters.store);
  const pending = focus === undefined ? undefined : new PendingTurns(focus);
  const feeder = new ReplayFeeder({ processor, focus, pending, ...pick(o, 'pace', 'onEvent', 'onProgress') });
  let ended: ReplayLogResult['ended'] = 'end';
  let stopFound = false;

  const settled = (): boolean => o.focus?.lastPos !== undefined && o.stop?.kind !== 'event' && processor.position >= o.focus.lastPos && pending?.any === false;

  try {
    const batchSize = o.batchSize ?? 5000;
    // The replay's Processor sweeps at the default interval: `windows` sets no other.
    const source =
      focus !== undefined && o.focusedRead !== undefined
        ? o.focusedRead(focus, { batchSize, sweepMs: TURN_WINDOW_DEFAULTS.sweepIntervalMs, ...(o.stop === undefined ? {} : { stop: o.stop }) })
        : o.log.read({ batchSize });
    reading: for await (const batch of source) {
      for (const logged of batch) {
        const e = logged.event;
        if (o.stop?.kind === 'time' && e.timeMs > o.stop.ms) {
          ended = 'stop';
          break reading;
        }
        await feeder.add(logged);
        if (o.stop?.kind === 'event' && e.id === o.stop.id) {
          ended = 'stop';
          stopFound = true;
          break reading;
        }
      }
      await feeder.flush();
      if (settled()) {
        ended = 'settled';
        break;
      }
    }
    await feeder.flush();
  } finally {
    processor.stop();
  }
  const { fed, focusEvents } = feeder;
  return { state, position: processor.position, fed, focusEvents, ended, stopFound, letters: deadLetters.letters, open: pending?.open() ?? [] };
}

/** The live pipeline's Processor over the replay's own store; it dedupes by id when the log does not (Kafka). */
function replayProcessor<S extends StateCommitTarget>(o: ReplayLogOptions<S>, state: S, deadLetters: DeadLetterStore): Processor {
  return new Processor({
    state,
    deadLetters,
    prices: o.prices,
    dedupe: !o.log.dedupesOnAppend,
    // A replay keeps nothing to restart from: snapshots of its open work would be wasted time.
    checkpoints: { everyEvents: 0 },
    windows: {
      ...(o.windows?.turnIdleTimeoutMs === undefined ? {} : { turnIdleTimeoutMs: o.windows.turnIdleTimeoutMs }),
      ...(o.windows?.graceMs === undefined ? {} : { graceMs: o.windows.graceMs }),
    },
    ...(o.onAggregate === undefined ? {} : { onAggregate: o.onAggregate }),
  });
}

/** The given keys of `o` that are set (optional options stay absent rather than undefined). */
function pick<T extends object, K extends keyof T>(o: T, ...keys: K[]): Partial<Pick<T, K>> {
  const picked: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) picked[k] = o[k];
  return picked;
}
