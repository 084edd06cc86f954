import type { DeadLetter } from '../events/reject-reason.ts';
import type { LoggedEvent } from '../events/step-event.ts';
import { unreadable } from '../log/unreadable-event.ts';
import { tryStringify } from './batch-effects.ts';

/**
 * The dead letters the processor writes itself (duplicates, processing errors), each with the
 * event as logged: the stored text where the log can give it (`rawAt`), else the event re-serialised.
 */
export class PipelineLetters {
  private readonly rawAt: ((pos: number) => string | undefined) | undefined;

  constructor(rawAt: ((pos: number) => string | undefined) | undefined) {
    this.rawAt = rawAt;
  }

  /** The event as logged, for a dead letter. */
  rawOf(logged: LoggedEvent): string {
    const stored = this.rawAt?.(logged.pos);
    if (stored !== undefined) return stored;
    const bad = unreadable(logged.event);
    if (bad !== undefined) return bad.raw;
    const { timeMs: _t, ...raw } = logged.event;
    return tryStringify(raw) ?? `(event at log position ${logged.pos} cannot be serialised; it stays in the log)`;
  }

  duplicate(logged: LoggedEvent): DeadLetter {
    const e = logged.event;
    const message = `event id "${e.id}" was already processed in turn "${'turn' in e ? e.turn : ''}"`;
    return { reason: 'duplicate', message, raw: this.rawOf(logged), source: 'pipeline', session: e.session, eventId: e.id, at: Date.now() };
  }

  /** An event that cannot be processed (it may not even be a valid event: fields are read defensively). */
  processingError(logged: LoggedEvent, message: string): DeadLetter {
    const e = logged.event as unknown as Record<string, unknown>;
    return {
      reason: 'processing_error',
      message,
      raw: this.rawOf(logged),
      source: 'pipeline',
      ...(typeof e['session'] === 'string' ? { session: e['session'] } : {}),
      ...(typeof e['id'] === 'string' ? { eventId: e['id'] } : {}),
      at: Date.now(),
    };
  }
}
