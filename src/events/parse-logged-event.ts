import type { StepEvent } from './step-event.ts';
import { isoEpochMs } from './iso-epoch-ms.ts';

/**
 * Parses an event as stored in the log. It was validated before it was appended, so this only
 * restores the normalised event time; it does not validate again (replay speed matters).
 */
export function parseLoggedEvent(body: string): StepEvent {
  const e = JSON.parse(body) as { time: string | number; timeMs?: number };
  e.timeMs = typeof e.time === 'number' ? e.time : isoEpochMs(e.time);
  return e as unknown as StepEvent;
}
