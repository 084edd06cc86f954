import type { StepEvent } from '../events/step-event.ts';

/** Marks a log entry that could not even be parsed back into an event. */
const UNREADABLE = Symbol('unreadable');

/**
 * Stands in for a log entry whose stored text does not parse (a producer writing straight to the
 * topic, a damaged row): it keeps its position in the log so the processor dead-letters it with
 * its raw text instead of failing the whole read.
 */
export function unreadableEvent(raw: string, error: unknown): StepEvent {
  return {
    [UNREADABLE]: { raw, message: `logged entry is not readable JSON: ${error instanceof Error ? error.message : String(error)}` },
  } as unknown as StepEvent;
}

/** The raw text and reason of an `unreadableEvent`, or `undefined` for a parsed event. */
export function unreadable(event: StepEvent): { readonly raw: string; readonly message: string } | undefined {
  return (event as unknown as { [UNREADABLE]?: { raw: string; message: string } })[UNREADABLE];
}
