import type { Checkpoint } from '../state/session-state-store.ts';
import type { BudgetsSnapshot } from '../streams/check-budgets.ts';
import type { DedupeSnapshot } from '../streams/price-and-dedupe.ts';
import type { WindowsSnapshot } from '../streams/window-turns.ts';

/**
 * Version of the checkpoint data written by this code. A checkpoint of another version is not
 * read: the processor rebuilds from the log instead (slower, never wrong), and the next checkpoint
 * it writes is of this version.
 */
export const CHECKPOINT_FORMAT = 1;

/** The processor's open work: each stateful operator's snapshot, and the events found at fault. */
export interface OpenWork {
  readonly windows: WindowsSnapshot;
  readonly dedupe?: DedupeSnapshot;
  readonly budgets?: BudgetsSnapshot;
  /** Events dead-lettered as `processing_error` after the checkpoint's position is fed again: skipped. */
  readonly poisoned: readonly (readonly [number, string])[];
}

interface Envelope {
  /** The settings the open work depends on: another configuration cannot continue from it. */
  readonly settings: string;
  readonly work: OpenWork;
}

export function encodeCheckpoint(position: number, settings: string, work: OpenWork): Checkpoint {
  const envelope: Envelope = { settings, work };
  return { format: CHECKPOINT_FORMAT, position, data: JSON.stringify(envelope) };
}

export type DecodedCheckpoint = { readonly ok: true; readonly position: number; readonly work: OpenWork } | { readonly ok: false; readonly reason: string };

/**
 * The open work in `checkpoint`, when this processor can continue from it: the same format, the
 * same settings, a position the store has committed, and data that parses. Otherwise why not (the
 * processor logs it and rebuilds from the log).
 */
export function decodeCheckpoint(checkpoint: Checkpoint | undefined, settings: string, committed: number): DecodedCheckpoint {
  if (checkpoint === undefined) return { ok: false, reason: 'no checkpoint stored yet' };
  if (checkpoint.format !== CHECKPOINT_FORMAT)
    return { ok: false, reason: `the checkpoint is format ${checkpoint.format}; this version reads format ${CHECKPOINT_FORMAT}` };
  if (!(checkpoint.position >= 0 && checkpoint.position <= committed))
    return { ok: false, reason: `the checkpoint is at log position ${checkpoint.position}, beyond the committed position ${committed}` };
  let envelope: Envelope;
  try {
    envelope = JSON.parse(checkpoint.data) as Envelope;
  } catch (error) {
    return { ok: false, reason: `the checkpoint does not parse (${error instanceof Error ? error.message : String(error)})` };
  }
  if (
    typeof envelope !== 'object' ||
    envelope === null ||
    typeof envelope.work !== 'object' ||
    envelope.work === null ||
    !Array.isArray(envelope.work.poisoned)
  )
    return { ok: false, reason: 'the checkpoint is damaged (its open work is missing)' };
  if (envelope.settings !== settings) return { ok: false, reason: `the checkpoint was written with other settings (${envelope.settings}; now ${settings})` };
  return { ok: true, position: checkpoint.position, work: envelope.work };
}
