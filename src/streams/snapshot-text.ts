/**
 * A window's snapshot JSON as UTF-8 bytes `start`–`end` of a larger buffer (a checkpoint's): a
 * restore keeps it so, undecoded, until the window is used (a plain object: ~5× cheaper to make
 * than a typed-array view, and a restart makes ~16k of them).
 */
export interface TextSlice {
  readonly bytes: Uint8Array;
  readonly start: number;
  readonly end: number;
}

/** A window's snapshot as JSON text, or as a slice of UTF-8 bytes. */
export type SnapshotText = string | TextSlice;

const utf8 = new TextDecoder();

/** The text itself (a slice is decoded now). */
export function textOf(text: SnapshotText): string {
  return typeof text === 'string' ? text : utf8.decode(text.bytes.subarray(text.start, text.end));
}
