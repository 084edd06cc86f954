import { TurnstreamError } from '../errors.ts';

/** Where retention trimmed the log: every event at or before `through` is gone. */
export interface TrimPoint {
  /** Last deleted log position. */
  readonly through: number;
  /** The event-time clock (largest event time so far) at `through`: no deleted event is later. */
  readonly clockMs: number;
}

/**
 * A read (or a replay, or a rebuild) that needs events retention has deleted. Not retriable: the
 * events are gone; the message says from where the log can still be read.
 */
export class LogTrimmedError extends TurnstreamError {
  readonly through: number;
  readonly clockMs: number;

  constructor(point: TrimPoint, what: { readonly after: number } | { readonly session: string }) {
    const trimmed = `the event log was trimmed through position ${point.through} (events up to ${iso(point.clockMs)}) by retention`;
    super(
      'session' in what
        ? `${trimmed}, so session "${what.session}", which has events before that point, cannot be replayed; the log holds only what follows position ${point.through}`
        : `${trimmed}, so reading from position ${what.after + 1} is impossible; the log holds only what follows position ${point.through}`,
      { retriable: false },
    );
    this.through = point.through;
    this.clockMs = point.clockMs;
  }
}

function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : 'an unknown time';
}
