import type { Checkpoint, KeptTexts } from '../state/session-state-store.ts';
import type { BudgetsSnapshot } from '../streams/check-budgets.ts';
import type { DedupeSnapshot } from '../streams/price-and-dedupe.ts';
import type { SnapshotText } from '../streams/snapshot-text.ts';
import type { WindowsSnapshot } from '../streams/window-turns.ts';
import { jsonBytes } from './json-pieces.ts';
import type { Steps } from './steps.ts';

/**
 * Version of the checkpoint data written by this code. A checkpoint of another version is not
 * read: the processor rebuilds from the log instead (slower, never wrong), and the next checkpoint
 * it writes is of this version. Format 1 was one JSON document; format 2 keeps the closed windows'
 * texts outside it (see `encodeCheckpointSteps`).
 */
export const CHECKPOINT_FORMAT = 2;
/**
 * Format 3: the document alone in `data`; the closed windows' texts are the store's kept texts
 * (`Checkpoint.texts`), named by id in the document (`textIds`, in the order of `windows.texts`).
 * For stores that keep texts (`keepsCheckpointTexts`); the others get format 2.
 */
export const CHECKPOINT_FORMAT_KEPT_TEXTS = 3;

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
  /** The open work without `windows.texts` (stored after the document). */
  readonly work: Omit<OpenWork, 'windows'> & { readonly windows: Omit<WindowsSnapshot, 'texts'> };
  /** Format 3: the id of each of `windows.texts` among the kept texts, and the next id to give. */
  readonly textIds?: readonly number[];
  readonly nextTextId?: number;
}

/**
 * Format 3 in steps (see `CheckpointSchedule.advance`): the document, naming each text by its id
 * in `texts` (see `CheckpointTextIds`). `work` must not change until it is done.
 */
export function* encodeCheckpointKeptTextsSteps(position: number, settings: string, work: OpenWork, kept: Kept): Steps<Checkpoint> {
  const { texts: _inTexts, ...windows } = work.windows;
  const envelope: Envelope = { settings, work: { ...work, windows }, textIds: kept.ids, nextTextId: kept.nextId };
  return { format: CHECKPOINT_FORMAT_KEPT_TEXTS, position, data: yield* jsonBytes(envelope), texts: kept.texts };
}

type Kept = { readonly ids: readonly number[]; readonly nextId: number; readonly texts: KeptTexts };

/** Format 3's texts, in the document's order, or why they cannot be found. */
function keptTexts(envelope: Envelope, texts: KeptTexts | undefined): SnapshotText[] | string {
  const ids = envelope.textIds;
  if (!Array.isArray(ids) || typeof envelope.nextTextId !== 'number') return 'its text ids are missing';
  const out: SnapshotText[] = new Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const t = texts?.byId.get(ids[i]!);
    if (t === undefined) return `its text ${ids[i]} is not kept`;
    out[i] = typeof t === 'string' ? t : { bytes: t, start: 0, end: t.byteLength };
  }
  return out;
}

/**
 * Format 2, bytes: u32 length of the JSON document, the document (settings and open work, UTF-8),
 * u32 count of texts, a u32 byte length per text, then the texts' UTF-8 bytes back to back. The
 * texts are the closed windows held for their grace period: most of a checkpoint's bytes (~90 % in
 * a busy store), and most never see another event. Kept outside the document, a restore neither
 * parses them nor copies them into strings: each stays a view of the checkpoint's bytes until its
 * turn is touched (restart after 10M events: ~180 ms of JSON parsing, and its garbage, saved).
 */
export function* encodeCheckpointSteps(position: number, settings: string, work: OpenWork): Steps<Checkpoint> {
  const { texts, ...windows } = work.windows;
  const envelope: Envelope = { settings, work: { ...work, windows } };
  const doc = yield* jsonBytes(envelope);
  const bodies: Uint8Array[] = new Array(texts.length);
  for (let i = 0; i < texts.length; i++) {
    const t = texts[i]!;
    bodies[i] = typeof t === 'string' ? Buffer.from(t) : t.bytes.subarray(t.start, t.end);
    if (i % 256 === 255) yield;
  }
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(doc.length, 0);
  const table = Buffer.allocUnsafe(4 + 4 * bodies.length);
  table.writeUInt32BE(bodies.length, 0);
  for (const [i, b] of bodies.entries()) table.writeUInt32BE(b.byteLength, 4 + 4 * i);
  return { format: CHECKPOINT_FORMAT, position, data: Buffer.concat([head, doc, table, ...bodies]) };
}

export type DecodedCheckpoint =
  | {
      readonly ok: true;
      readonly position: number;
      readonly work: OpenWork;
      /** Format 3: the kept id of each of `work.windows.texts`, and the next id to give. */
      readonly kept?: { readonly ids: readonly number[]; readonly nextId: number };
    }
  | { readonly ok: false; readonly reason: string };

/** The JSON document and the texts of format 2 bytes, or why they do not split. */
function split(data: Uint8Array): { readonly doc: string; readonly texts: SnapshotText[] } | string {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (bytes.length < 8) return 'it is too short';
  const docEnd = 4 + bytes.readUInt32BE(0);
  if (docEnd + 4 > bytes.length) return 'its document is cut short';
  const count = bytes.readUInt32BE(docEnd);
  let at = docEnd + 4 + 4 * count;
  if (at > bytes.length) return 'its text table is cut short';
  const texts: SnapshotText[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const end = at + bytes.readUInt32BE(docEnd + 4 + 4 * i);
    if (end > bytes.length) return `its text ${i} is cut short`;
    texts[i] = { bytes, start: at, end };
    at = end;
  }
  if (at !== bytes.length) return 'it has bytes after its last text';
  return { doc: bytes.toString('utf8', 4, docEnd), texts };
}

/**
 * The open work in `checkpoint`, when this processor can continue from it: the same format, the
 * same settings, a position the store has committed, and data that parses. Otherwise why not (the
 * processor logs it and rebuilds from the log).
 */
export function decodeCheckpoint(checkpoint: Checkpoint | undefined, settings: string, committed: number): DecodedCheckpoint {
  if (checkpoint === undefined) return { ok: false, reason: 'no checkpoint stored yet' };
  const format = checkpoint.format;
  if (format !== CHECKPOINT_FORMAT && format !== CHECKPOINT_FORMAT_KEPT_TEXTS)
    return { ok: false, reason: `the checkpoint is format ${format}; this version reads formats ${CHECKPOINT_FORMAT} and ${CHECKPOINT_FORMAT_KEPT_TEXTS}` };
  if (!(checkpoint.position >= 0 && checkpoint.position <= committed))
    return { ok: false, reason: `the checkpoint is at log position ${checkpoint.position}, beyond the committed position ${committed}` };
  const parts = format === CHECKPOINT_FORMAT ? split(checkpoint.data) : { doc: Buffer.from(checkpoint.data).toString('utf8'), texts: undefined };
  if (typeof parts === 'string') return { ok: false, reason: `the checkpoint is damaged (${parts})` };
  let envelope: Envelope;
  try {
    envelope = JSON.parse(parts.doc) as Envelope;
  } catch (error) {
    return { ok: false, reason: `the checkpoint does not parse (${error instanceof Error ? error.message : String(error)})` };
  }
  if (
    typeof envelope !== 'object' ||
    envelope === null ||
    typeof envelope.work !== 'object' ||
    envelope.work === null ||
    typeof envelope.work.windows !== 'object' ||
    envelope.work.windows === null ||
    !Array.isArray(envelope.work.poisoned)
  )
    return { ok: false, reason: 'the checkpoint is damaged (its open work is missing)' };
  if (envelope.settings !== settings) return { ok: false, reason: `the checkpoint was written with other settings (${envelope.settings}; now ${settings})` };
  const texts = parts.texts ?? keptTexts(envelope, checkpoint.texts);
  if (typeof texts === 'string') return { ok: false, reason: `the checkpoint is damaged (${texts})` };
  const work: OpenWork = { ...envelope.work, windows: { ...envelope.work.windows, texts } };
  if (parts.texts !== undefined) return { ok: true, position: checkpoint.position, work };
  return { ok: true, position: checkpoint.position, work, kept: { ids: envelope.textIds!, nextId: envelope.nextTextId! } };
}
