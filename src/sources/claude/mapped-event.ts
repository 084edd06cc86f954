import type { StepEvent } from '../../events/step-event.ts';

/** A v1 event as a producer sends it: `timeMs` is added by the decoder, not sent. */
export type OutgoingEvent = StepEvent extends infer E ? (E extends StepEvent ? Omit<E, 'timeMs'> : never) : never;

/** An event mapped from a transcript, with what orders it among events of other files. */
export interface MappedEvent {
  readonly event: OutgoingEvent;
  readonly timeMs: number;
  /** Orders events of the same millisecond: a turn starts before its calls, ends after its tools. */
  readonly rank: number;
}

export const RANK: Readonly<Record<OutgoingEvent['type'], number>> = {
  'session.start': 0,
  'turn.start': 1,
  'llm.usage': 2,
  'tool.start': 3,
  'tool.end': 4,
  'turn.end': 5,
  'session.end': 6,
  'state.set': 7,
  'state.delete': 7,
};

/**
 * Event-time order for sending: the pipeline's watermark is the largest event time seen, and an
 * event for a turn it no longer holds is `late`, so events of all files are sent oldest first
 * (a subagent's file interleaves with its parent's; older Claude Code versions wrote a whole
 * subagent conversation into the parent's file after it finished). `Array.prototype.sort` is
 * stable: equal keys keep file order.
 */
export function compareMapped(a: MappedEvent, b: MappedEvent): number {
  return a.timeMs - b.timeMs || a.rank - b.rank;
}

/** An event time as the events carry it (RFC 3339, UTC, milliseconds). */
export const iso = (ms: number): string => new Date(ms).toISOString();
