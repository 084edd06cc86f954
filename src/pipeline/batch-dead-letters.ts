import { isUtf8 } from 'node:buffer';
import type { DeadLetter, RejectReason } from '../events/reject-reason.ts';
import type { DeadLetterStore } from '../log/dead-letter-store.ts';
import type { PipelineMetrics } from '../exporters/pipeline-metrics.ts';

/** A dead letter keeps at most this much of its input (and its full size when it was cut). */
export const MAX_KEPT_RAW_BYTES = 256 * 1024;

export type LetterFields = Omit<DeadLetter, 'raw' | 'source' | 'at' | 'rawBase64' | 'size'>;

/**
 * The dead letters of one ingested batch. The first `max` are kept one by one; past that only a
 * count per reason, stored as one `dead_letters_dropped` letter, so a batch of garbage cannot
 * flood the store. Every letter is counted in the metrics, kept or not.
 */
export class BatchDeadLetters {
  readonly #letters: DeadLetter[] = [];
  readonly #byReason = new Map<RejectReason, number>();
  readonly #dropped = new Map<RejectReason, number>();
  readonly #o: { readonly source: string; readonly at: number; readonly max: number };

  constructor(options: { source: string; at: number; max: number }) {
    this.#o = options;
  }

  add(l: LetterFields, raw: string | Uint8Array): void {
    this.#byReason.set(l.reason, (this.#byReason.get(l.reason) ?? 0) + 1);
    if (this.#letters.length < this.#o.max) this.#letters.push({ ...l, ...keptRaw(raw), source: this.#o.source, at: this.#o.at });
    else this.#dropped.set(l.reason, (this.#dropped.get(l.reason) ?? 0) + 1);
  }

  /** Puts the kept letters (and the dropped count) in `store` and records the metrics under `label`. */
  async store(store: DeadLetterStore, metrics: PipelineMetrics | undefined, label: string): Promise<void> {
    const { source, at, max } = this.#o;
    let droppedTotal = 0;
    for (const n of this.#dropped.values()) droppedTotal += n;
    if (droppedTotal > 0) {
      const which = [...this.#dropped].map(([reason, n]) => `${reason} ${n}`).join(', ');
      this.#letters.push({
        reason: 'dead_letters_dropped',
        message: `${droppedTotal} more rejected inputs of this batch were not kept one by one (the first ${max} were): ${which}`,
        raw: '',
        source,
        at,
      });
    }
    if (this.#letters.length === 0) return;
    const trimmed = await store.put(this.#letters);
    for (const [reason, n] of this.#byReason) {
      if (reason === 'duplicate') metrics?.recordDeduped(label, n);
      metrics?.recordDeadLettered(reason, label, n);
    }
    const lost = droppedTotal + (typeof trimmed === 'number' ? trimmed : 0);
    if (lost > 0) metrics?.recordDeadLettered('dead_letters_dropped', label, lost);
  }
}

/** The raw fields of a dead letter: exact text, or U+FFFD text plus exact base64 bytes; cut at the cap. */
function keptRaw(raw: string | Uint8Array): Pick<DeadLetter, 'raw' | 'rawBase64' | 'size'> {
  if (typeof raw === 'string') {
    if (raw.length * 3 <= MAX_KEPT_RAW_BYTES) return { raw };
    const bytes = Buffer.from(raw, 'utf8');
    if (bytes.length <= MAX_KEPT_RAW_BYTES) return { raw };
    return { raw: bytes.toString('utf8', 0, MAX_KEPT_RAW_BYTES), size: bytes.length };
  }
  const bytes = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const kept = bytes.length <= MAX_KEPT_RAW_BYTES ? bytes : bytes.subarray(0, MAX_KEPT_RAW_BYTES);
  return {
    raw: kept.toString('utf8'),
    ...(isUtf8(kept) ? {} : { rawBase64: kept.toString('base64') }),
    ...(kept === bytes ? {} : { size: bytes.length }),
  };
}
