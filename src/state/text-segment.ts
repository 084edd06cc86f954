import type { KeptTexts, TextSegment } from './session-state-store.ts';

/** Texts per step of `textSegmentSteps`. */
const STEP = 256;

/**
 * The `put` texts' UTF-8 bytes back to back, with `[id, byte length]` of each: what the embedded
 * store writes as one segment. In steps (yields between groups of texts), so a checkpoint can make
 * it over several batches: ~7 MB for 100k events of the bench, ~25 ms to encode and copy at once.
 */
export function* textSegmentSteps(put: readonly number[], byId: KeptTexts['byId']): Generator<void, TextSegment, undefined> {
  const parts: Uint8Array[] = new Array(put.length);
  const ids: [number, number][] = new Array(put.length);
  let size = 0;
  for (let i = 0; i < put.length; i++) {
    const id = put[i]!;
    const text = byId.get(id);
    if (text === undefined) throw new RangeError(`checkpoint text ${id} is to be kept but was not given`);
    const part = typeof text === 'string' ? Buffer.from(text) : text;
    parts[i] = part;
    ids[i] = [id, part.byteLength];
    size += part.byteLength;
    if (i % STEP === STEP - 1) yield;
  }
  const bytes = Buffer.allocUnsafe(size);
  let at = 0;
  for (let i = 0; i < parts.length; i++) {
    bytes.set(parts[i]!, at);
    at += parts[i]!.byteLength;
    if (i % (4 * STEP) === 4 * STEP - 1) yield;
  }
  return { ids, bytes };
}

/** `textSegmentSteps` at once. */
export function textSegment(put: readonly number[], byId: KeptTexts['byId']): TextSegment {
  const steps = textSegmentSteps(put, byId);
  for (;;) {
    const r = steps.next();
    if (r.done === true) return r.value;
  }
}
