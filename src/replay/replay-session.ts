import type { DeadLetter } from '../events/reject-reason.ts';
import type { PriceTable } from '../events/price-table.ts';
import type { JsonValue, LoggedEvent } from '../events/step-event.ts';
import type { EventLog } from '../log/event-log.ts';
import { MemorySessionStateStore } from '../state/memory-session-state-store.ts';
import { putEntry } from '../state/session-state-store.ts';
import type { SessionTotals } from '../model/session-totals.ts';
import type { TurnAggregate } from '../model/turn-aggregate.ts';
import type { TurnRecord } from '../model/turn-record.ts';
import type { OpenTurn } from './pending-turns.ts';
import { replayLog, type FocusedRead, type ReplayStop } from './replay-log.ts';

export interface ReplaySessionOptions {
  readonly log: Pick<EventLog, 'read' | 'dedupesOnAppend'>;
  /** The backend's faster read for one session, when it has one (`ReplayableLog.focusedRead`). */
  readonly focusedRead?: FocusedRead;
  readonly session: string;
  readonly prices: PriceTable;
  readonly windows?: { readonly turnIdleTimeoutMs?: number; readonly graceMs?: number };
  /** The session's last log position, when known (the replay can stop there once settled). */
  readonly lastPos?: number;
  readonly stop?: ReplayStop;
  readonly pace?: (timeMs: number) => Promise<void>;
  readonly onEvent?: (logged: LoggedEvent) => void;
  /** Each aggregate of the session as it is emitted (revisions included). */
  readonly onAggregate?: (a: TurnAggregate) => void;
  readonly onProgress?: (pos: number) => void;
  readonly batchSize?: number;
}

/** A turn record with its calls: what the timeline shows. */
export type ReplayedTurn = TurnRecord & Pick<TurnAggregate, 'llm' | 'tools'>;

/** A session as a replay derived it. */
export interface SessionReplay {
  readonly session: string;
  /**
   * Latest revision of each closed turn as the store holds it (so, as the live store would), in
   * the store's order (start time, then turn id), with the per-call lists of its aggregate.
   */
  readonly turns: readonly ReplayedTurn[];
  /** Roll-up totals; undefined when no turn closed. */
  readonly totals: SessionTotals | undefined;
  /** Live last-write-wins keys (tombstoned keys are absent). */
  readonly state: Record<string, JsonValue>;
  /** Keys whose latest write is a delete, with its event time (shown by `--at`). */
  readonly deleted: Record<string, number>;
  /** Turns still open where the replay stopped. */
  readonly open: readonly OpenTurn[];
  /** Late and duplicate events of the session the windows turned away. */
  readonly letters: readonly DeadLetter[];
  /** Aggregates emitted, revisions included. */
  readonly emitted: number;
  /** Events of the session fed, and events fed in all (the log up to `position`). */
  readonly events: number;
  readonly fed: number;
  readonly position: number;
  readonly ended: 'end' | 'stop' | 'settled';
  readonly stopFound: boolean;
}

/**
 * Replays one session: the whole log (other sessions as watermark stand-ins) through the live
 * Processor into a fresh in-memory store, then reads the session back from that store — the same
 * commit path, so turns, totals and state are what the live store holds for the same log — with
 * each turn's latest aggregate attached for its per-call detail (the store keeps no call lists).
 */
export async function replaySession(o: ReplaySessionOptions): Promise<SessionReplay> {
  const latest = new Map<string, TurnAggregate>();
  let emitted = 0;
  const state = new MemorySessionStateStore();
  const r = await replayLog({
    log: o.log,
    ...(o.focusedRead === undefined ? {} : { focusedRead: o.focusedRead }),
    prices: o.prices,
    state,
    focus: { session: o.session, ...(o.lastPos === undefined ? {} : { lastPos: o.lastPos }) },
    ...(o.windows === undefined ? {} : { windows: o.windows }),
    ...(o.stop === undefined ? {} : { stop: o.stop }),
    ...(o.pace === undefined ? {} : { pace: o.pace }),
    ...(o.onEvent === undefined ? {} : { onEvent: o.onEvent }),
    ...(o.onProgress === undefined ? {} : { onProgress: o.onProgress }),
    ...(o.batchSize === undefined ? {} : { batchSize: o.batchSize }),
    onAggregate: (a) => {
      if (a.session !== o.session) return;
      emitted++;
      // The store's rule: a revision replaces an older or equal one.
      if (a.revision >= (latest.get(a.turn)?.revision ?? -1)) latest.set(a.turn, a);
      o.onAggregate?.(a);
    },
  });
  const records = await state.turns(o.session);
  const deleted: Record<string, number> = {};
  for (const [key, entry] of state.entries(o.session)) if (entry.deleted) putEntry(deleted, key, entry.version.time);
  return {
    session: o.session,
    turns: records.map((t) => {
      const a = latest.get(t.turn);
      return { ...t, llm: a?.llm ?? [], tools: a?.tools ?? [] };
    }),
    totals: await state.totals(o.session),
    state: await state.list(o.session),
    deleted,
    open: r.open,
    letters: r.letters,
    emitted,
    events: r.focusEvents,
    fed: r.fed,
    position: r.position,
    ended: r.ended,
    stopFound: r.stopFound,
  };
}
