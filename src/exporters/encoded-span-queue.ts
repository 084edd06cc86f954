import type { EncodedSpans } from './otlp-turn-encoder.ts';

export interface EncodedSpanQueueOptions {
  /** Sends one batch (the encoded spans of whole turns, in order); rejects when the export failed. */
  readonly send: (batch: readonly Uint8Array[], spans: number) => Promise<void>;
  /** Spans held at most; the spans of a turn that would go past it are dropped (`onDropped`). */
  readonly maxQueueSize: number;
  /** A batch is sent as soon as this many spans are queued (whole turns: a batch can hold a few more). */
  readonly maxExportBatchSize: number;
  /** Fewer spans are sent this long after the first of them was queued. */
  readonly scheduledDelayMillis: number;
  readonly onDropped: (spans: number) => void;
  /** An export failed: its `spans` are lost. */
  readonly onError: (error: unknown, spans: number) => void;
}

/**
 * The BatchSpanProcessor's batching for spans that are already OTLP bytes: a bounded queue, one
 * export in flight at a time, a batch sent when full or after the scheduled delay, everything sent
 * on a flush. A failed export is reported (`onError`) and its spans are lost, as with the SDK's
 * processor (the transport below already retried it).
 */
export class EncodedSpanQueue {
  private readonly o: EncodedSpanQueueOptions;
  private readonly queue: EncodedSpans[] = [];
  private queued = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The export chain: one batch at a time. */
  private running: Promise<void> = Promise.resolve();
  /** A drain of full batches is on the chain and has not started. */
  private drainQueued = false;

  constructor(o: EncodedSpanQueueOptions) {
    this.o = o;
  }

  /** Spans waiting to be sent. */
  get size(): number {
    return this.queued;
  }

  add(e: EncodedSpans): void {
    if (e.spans === 0) return;
    if (this.queued + e.spans > this.o.maxQueueSize) {
      this.o.onDropped(e.spans);
      return;
    }
    this.queue.push(e);
    this.queued += e.spans;
    if (this.queued >= this.o.maxExportBatchSize) {
      if (!this.drainQueued) {
        this.drainQueued = true;
        void this.drain(false);
      }
    } else {
      this.arm();
    }
  }

  /** Resolves once every span queued so far was sent (or its export failed). */
  forceFlush(): Promise<void> {
    this.disarm();
    return this.drain(true);
  }

  private drain(all: boolean): Promise<void> {
    this.running = this.running.then(async () => {
      if (!all) this.drainQueued = false;
      while (this.queued >= this.o.maxExportBatchSize || (all && this.queued > 0)) await this.sendOne();
      if (this.queued > 0) this.arm();
    });
    return this.running;
  }

  private async sendOne(): Promise<void> {
    const batch: Uint8Array[] = [];
    let spans = 0;
    while (spans < this.o.maxExportBatchSize && this.queue.length > 0) {
      const e = this.queue.shift()!;
      batch.push(e.bytes);
      spans += e.spans;
    }
    this.queued -= spans;
    try {
      await this.o.send(batch, spans);
    } catch (error) {
      this.o.onError(error, spans);
    }
  }

  private arm(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.drain(true);
    }, this.o.scheduledDelayMillis);
    this.timer.unref();
  }

  private disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
