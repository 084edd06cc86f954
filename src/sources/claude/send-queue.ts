import { addResults, NO_RESULTS, type EventSink, type SendResult } from './event-sink.ts';
import type { MappedEvent } from './mapped-event.ts';

export interface SendQueueOptions {
  readonly sink: EventSink;
  readonly batchSize: number;
  readonly onSent?: (result: SendResult, events: readonly MappedEvent[]) => void;
  /** A failed send: the batch stays queued and is retried by the next `flush`. */
  readonly onError: (error: unknown) => void;
}

/**
 * The events the watcher has read but not yet delivered. `flush` sends them in batches of
 * `batchSize`, in order; a failed send stops the flush and keeps the batch for the next one, so
 * events survive a server that is down. `sent` adds up what the sink reported.
 */
export class SendQueue {
  #queue: MappedEvent[] = [];
  #sent: SendResult = NO_RESULTS;
  readonly #o: SendQueueOptions;

  constructor(options: SendQueueOptions) {
    this.#o = options;
  }

  get sent(): SendResult {
    return this.#sent;
  }

  push(events: Iterable<MappedEvent>): void {
    for (const e of events) this.#queue.push(e);
  }

  async flush(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.slice(0, this.#o.batchSize);
      let result: SendResult;
      try {
        result = await this.#o.sink.send(batch.map((e) => e.event));
      } catch (error) {
        this.#o.onError(error);
        return;
      }
      this.#queue = this.#queue.slice(batch.length);
      this.#sent = addResults(this.#sent, result);
      this.#o.onSent?.(result, batch);
    }
  }
}
