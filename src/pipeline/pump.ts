import type { LoggedEvent } from '../events/step-event.ts';
import type { Logger } from '../logger.ts';
import type { Processor } from './processor.ts';

/**
 * Feeds appended batches to the processor one at a time, in log order, off the request path:
 * ingest acknowledges once the log is durable; aggregation follows right after. Batches queued
 * while the processor is busy are merged, so bursts are processed in large batches.
 * A processing failure is logged and marks the pump unhealthy; the events stay in the log, and a
 * restart processes them (effects are committed with positions, so nothing is counted twice).
 */
export class Pump {
  private readonly processor: Processor;
  private readonly logger: Logger;
  private queue: LoggedEvent[] = [];
  private running: Promise<void> | undefined;
  failure: Error | undefined;

  constructor(processor: Processor, logger: Logger) {
    this.processor = processor;
    this.logger = logger;
  }

  push(batch: readonly LoggedEvent[]): void {
    for (const e of batch) this.queue.push(e);
    this.running ??= this.drain();
  }

  private async drain(): Promise<void> {
    // Let other appends in the same tick join this batch.
    await new Promise((resolve) => setImmediate(resolve));
    try {
      while (this.queue.length > 0 && this.failure === undefined) {
        const batch = this.queue;
        this.queue = [];
        await this.processor.process(batch);
      }
    } catch (error) {
      this.failure = error as Error;
      this.logger.error('processing failed; events stay in the log and are processed on restart', { error });
    } finally {
      this.running = undefined;
      if (this.queue.length > 0 && this.failure === undefined) this.running = this.drain();
    }
  }

  /** Resolves when everything pushed so far has been processed. */
  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }
}
