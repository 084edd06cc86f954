import { Worker } from 'node:worker_threads';
import type { Logger } from '../logger.ts';
import type { TurnAggregate } from '../model/turn-aggregate.ts';
import type { OtlpTarget } from './otlp-from-env.ts';
import type { FromSpanWorker, SpanWorkerData, ToSpanWorker } from './span-worker-thread.ts';
import type { TurnSpanSink } from './turn-span-sink.ts';
import { packSpanTurns, type PackedSpanTurns } from './span-turn.ts';

// From the sources (Node runs the .ts), or from dist/ (the built .js beside this file).
const THREAD = new URL(import.meta.url.endsWith('.ts') ? './span-worker-thread.ts' : './span-worker-thread.js', import.meta.url);

/**
 * OTLP span export on a worker thread: the processor posts each batch's closed turns (what their
 * spans read, packed into one flat array: `packSpanTurns`); the thread (`span-worker-thread.ts`)
 * builds the spans and serialises and sends them, so that work runs on the second core. Spans are built from the turns
 * alone, so the ids are the same as when built in this thread.
 *
 * The thread does not keep the process alive (like the SDK's own timers): shutdown flushes it. If
 * it dies (an uncaught error), what it held is lost (as spans in a crashed BatchSpanProcessor
 * would be), the error is logged, and the next batch starts a new thread.
 */
export class SpanWorker implements TurnSpanSink {
  private readonly data: SpanWorkerData;
  private readonly logger: Logger | undefined;
  private worker: Worker | undefined;
  private readonly waiting = new Map<number, () => void>();
  private nextId = 0;
  private stopped = false;
  private lost = 0;

  constructor(o: { target: OtlpTarget; serviceName: string; version: string; logger?: Logger }) {
    this.data = { target: o.target, serviceName: o.serviceName, version: o.version };
    this.logger = o.logger;
    this.thread();
  }

  send(turns: readonly TurnAggregate[]): void {
    if (this.stopped || turns.length === 0) return;
    let packed: PackedSpanTurns;
    try {
      packed = packSpanTurns(turns);
    } catch (error) {
      // A turn without the fields its spans read (a bug upstream): its batch's spans are lost, said here; export goes on.
      this.logger?.error('spans lost: turns could not be packed for the span export thread', { turns: turns.length, error });
      return;
    }
    this.post({ kind: 'turns', turns: packed });
  }

  forceFlush(): Promise<void> {
    return this.ask('flush');
  }

  /** Spans lost so far: dropped with the export queue full, or refused by the collector (each also logged). Current after `forceFlush`. */
  get lostSpans(): number {
    return this.lost;
  }

  async shutdown(): Promise<void> {
    if (this.stopped) return;
    await this.ask('shutdown');
    this.stopped = true;
    await this.worker?.terminate();
    this.worker = undefined;
  }

  private ask(kind: 'flush' | 'shutdown'): Promise<void> {
    if (this.stopped || this.worker === undefined) return Promise.resolve();
    const id = this.nextId++;
    return new Promise<void>((resolve) => {
      this.waiting.set(id, resolve);
      this.post({ kind, id });
    });
  }

  private post(m: ToSpanWorker): void {
    this.thread().postMessage(m);
  }

  private thread(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(THREAD, { workerData: this.data, name: 'turnstream-spans' });
    worker.unref();
    worker.on('message', (m: FromSpanWorker) => {
      if (m.kind === 'lost') {
        this.lost += m.dropped + m.failed;
        this.logger?.warn('spans lost: the export queue was full or the collector did not take them (after retries)', {
          droppedSpans: m.dropped,
          failedSpans: m.failed,
          ...(m.error === undefined ? {} : { error: m.error }),
        });
        return;
      }
      if (m.error !== undefined) this.logger?.warn('span export failed', { error: m.error });
      this.waiting.get(m.id)?.();
      this.waiting.delete(m.id);
    });
    worker.on('error', (error) =>
      this.logger?.error('the span export thread failed; its queued spans are lost, a new one starts with the next turns', { error }),
    );
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = undefined;
      // Nothing more will be flushed by that thread: nobody waits for it.
      for (const resolve of this.waiting.values()) resolve();
      this.waiting.clear();
    });
    this.worker = worker;
    return worker;
  }
}
