/**
 * Which partitions this process owns and how far each is processed: for `/healthz`, the lag
 * metric and the start-up / stopped log lines. The processed position is the one committed with
 * the state (read from the state view, `positions`), so it is what a restart resumes from.
 */
export class KafkaProgress {
  private readonly committed: ReadonlyMap<number, number>;
  private readonly ends = new Map<number, number>();
  private owned: number[] = [];

  /** `committed`: per partition, the position committed with its state (`KafkaStateView.positions`). */
  constructor(committed: ReadonlyMap<number, number>) {
    this.committed = committed;
  }

  /** A new assignment (a group join), sorted. */
  assign(partitions: readonly number[]): void {
    this.owned = [...partitions].sort((a, b) => a - b);
  }

  /** A fetched batch's high watermark: the partition's end as last seen. */
  sawEnd(partition: number, highWatermark: number): void {
    this.ends.set(partition, highWatermark);
  }

  /** Partitions this process owns now. */
  assigned(): number[] {
    return this.owned;
  }

  /** Per owned partition: processed (committed) position and last known end. */
  progress(): Map<number, { processed: number; end: number }> {
    const out = new Map<number, { processed: number; end: number }>();
    for (const p of this.owned) out.set(p, { processed: this.committed.get(p) ?? 0, end: this.ends.get(p) ?? 0 });
    return out;
  }

  /** Events in owned partitions beyond the committed position (high watermark − position). */
  lag(): number {
    let lag = 0;
    for (const { processed, end } of this.progress().values()) lag += Math.max(0, end - processed);
    return lag;
  }

  /** Events processed in owned partitions (the sum of committed positions). */
  processed(): number {
    let processed = 0;
    for (const { processed: p } of this.progress().values()) processed += p;
    return processed;
  }
}
