import type { IHeaders } from 'kafkajs';
import type { SessionTotals } from '../model/session-totals.ts';

/**
 * Record keys of the compacted topics: `<session>\0<key>` in the state topic, `<session>\0<turn>`
 * in the turns topic. Keys that START with the separator are turnstream's own per-partition
 * records in the state topic (no session id is empty): the committed position, and the checkpoint
 * (a header, and its chunks when the compressed data is too big for one record).
 */
export const SEP = '\u0000';
export const positionKey = (partition: number): string => `${SEP}position${SEP}${partition}`;
export const checkpointKey = (partition: number): string => `${SEP}checkpoint${SEP}${partition}`;
export const checkpointChunkKey = (partition: number, index: number): string => `${SEP}checkpoint${SEP}${partition}${SEP}${index}`;

export type ReservedKey =
  | { readonly kind: 'position'; readonly partition: number }
  | { readonly kind: 'checkpoint'; readonly partition: number }
  | { readonly kind: 'chunk'; readonly partition: number; readonly index: number };

/** What a key that starts with the separator names; undefined for a key of no known kind (skipped). */
export function reservedKey(key: string): ReservedKey | undefined {
  const [, kind, partition, index, ...rest] = key.split(SEP);
  const p = Number(partition);
  if (rest.length > 0 || !Number.isInteger(p) || p < 0) return undefined;
  if (kind === 'position' && index === undefined) return { kind, partition: p };
  if (kind === 'checkpoint' && index === undefined) return { kind, partition: p };
  const i = Number(index);
  if (kind === 'checkpoint' && Number.isInteger(i) && i >= 0) return { kind: 'chunk', partition: p, index: i };
  return undefined;
}

/** A session's totals as stored under the reserved totals key. */
export interface TotalsRecord {
  readonly totals: SessionTotals;
  /** Log position of the commit that wrote it: a replayed older record never replaces a newer one. */
  readonly p: number;
}

/** A record header as text (kafkajs gives Buffers when read, strings as written). */
export const header = (h: IHeaders | undefined, name: string): string | undefined => {
  const v = h?.[name];
  return v === undefined ? undefined : Buffer.isBuffer(v) ? v.toString() : String(v);
};

/** The parts of a record the view applies: what the consumer delivers, and what a commit sends. */
export interface StoredRecord {
  readonly key: string;
  readonly value: Buffer | null;
  readonly headers?: IHeaders;
}

/**
 * Headers of a turns-topic record: its revision (`r`) and `closedAtPos` (`c`). A view keeps the
 * latest revision of each turn and answers lateness from these alone, and parses the record's JSON
 * only when the turn is read. Records written before these headers are parsed when applied.
 */
export const turnHeaders = (t: { readonly revision: number; readonly closedAtPos?: number }): Record<string, string> => ({
  r: String(t.revision),
  c: String(t.closedAtPos ?? 0),
});
