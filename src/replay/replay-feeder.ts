import type { LoggedEvent } from '../events/step-event.ts';
import type { Processor } from '../pipeline/processor.ts';
import type { PendingTurns } from './pending-turns.ts';
import { STAND_IN_SESSION, watermarkStandIn } from '../log/watermark-stand-in.ts';

export interface ReplayFeederOptions {
  readonly processor: Pick<Processor, 'process' | 'position'>;
  /** The followed session; other sessions' events are fed as watermark stand-ins. */
  readonly focus: string | undefined;
  readonly pending: PendingTurns | undefined;
  readonly pace?: (timeMs: number) => Promise<void>;
  readonly onEvent?: (logged: LoggedEvent) => void;
  readonly onProgress?: (pos: number) => void;
}

/**
 * Collects log events into Processor batches for `replayLog`. Events of the followed session (all
 * events without a focus) are fed as they are; the others as stand-ins that only move the
 * watermark. With `pace`, each followed event is its own batch, after the wait, so what its
 * predecessors produced is out first. Counts what it fed.
 */
export class ReplayFeeder {
  fed = 0;
  focusEvents = 0;
  #feed: LoggedEvent[] = [];
  readonly #o: ReplayFeederOptions;

  constructor(options: ReplayFeederOptions) {
    this.#o = options;
  }

  async add(logged: LoggedEvent): Promise<void> {
    const o = this.#o;
    const e = logged.event;
    if (o.focus !== undefined && e.session !== o.focus) {
      this.#feed.push(e.session === STAND_IN_SESSION ? logged : watermarkStandIn(logged.pos, e.id, e.timeMs));
      return;
    }
    if (o.pace !== undefined) {
      await this.flush();
      await o.pace(e.timeMs);
    }
    this.#feed.push(logged);
    this.focusEvents++;
    o.pending?.fed(logged);
    o.onEvent?.(logged);
    if (o.pace !== undefined) await this.flush();
  }

  /** Processes what was added since the last flush. */
  async flush(): Promise<void> {
    if (this.#feed.length === 0) return;
    const batch = this.#feed;
    this.#feed = [];
    this.fed += batch.length;
    const effects = await this.#o.processor.process(batch);
    this.#o.pending?.processed(effects.aggregates, effects.letters);
    this.#o.onProgress?.(this.#o.processor.position);
  }
}
