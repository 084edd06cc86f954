import type { RejectReason } from '../events/reject-reason.ts';

/** What happened to one input, in input order (the HTTP 207-style answer). */
export type IngestResult =
  | { readonly index: number; readonly status: 'accepted'; readonly id: string; readonly pos: number }
  | { readonly index: number; readonly status: 'duplicate'; readonly id: string }
  | { readonly index: number; readonly status: 'rejected'; readonly reason: RejectReason; readonly message: string; readonly id?: string };

/** Counts of one batch and its first non-accepted results (what the HTTP answer lists). */
export interface IngestSummary {
  readonly accepted: number;
  readonly duplicate: number;
  readonly rejected: number;
  /** The first `maxResults` non-accepted results, by input index. */
  readonly results: IngestResult[];
  /** Non-accepted results not listed. */
  readonly omitted: number;
}

/**
 * The per-input answers of one ingested batch. With `all`, every result is written at its input's
 * index (`Ingestor.ingest`); without, only counts and the first `maxResults` rejected and duplicate
 * results are kept, in input order, so the answer stays small for any batch (`ingestSummary`).
 */
export class BatchResults {
  readonly #counts = { accepted: 0, duplicate: 0, rejected: 0 };
  readonly #rejections: IngestResult[] = [];
  readonly #duplicates: IngestResult[] = [];
  readonly #maxResults: number;
  readonly #all: IngestResult[] | undefined;

  constructor(maxResults: number, all?: IngestResult[]) {
    this.#maxResults = maxResults;
    this.#all = all;
  }

  add(result: IngestResult): void {
    this.#counts[result.status]++;
    if (this.#all !== undefined) this.#all[result.index] = result;
    else if (result.status === 'rejected' && this.#rejections.length < this.#maxResults) this.#rejections.push(result);
    else if (result.status === 'duplicate' && this.#duplicates.length < this.#maxResults) this.#duplicates.push(result);
  }

  summary(): IngestSummary {
    const c = this.#counts;
    const listed = this.#all !== undefined ? [] : [...this.#rejections, ...this.#duplicates].sort((a, b) => a.index - b.index).slice(0, this.#maxResults);
    return { ...c, results: listed, omitted: c.rejected + c.duplicate - listed.length };
  }
}
