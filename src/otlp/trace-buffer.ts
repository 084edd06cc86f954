import type { MappedEvent } from './map-claude-code-logs.ts';
import type { OtlpSpan } from './otlp-spans.ts';

/** Bounds and timings of the trace buffer. */
export interface TraceBufferLimits {
  /** Traces held at once (waiting or retained). Default 10,000. */
  readonly maxTraces: number;
  /** Spans held at once. Default 200,000. */
  readonly maxSpans: number;
  /** Estimated bytes held at once (spans keep only the attributes the mapping reads). Default 64 MiB. */
  readonly maxBytes: number;
  /** A trace whose root span arrived is mapped once no span of it arrived for this long. Default 1 s. */
  readonly settleMs: number;
  /** A trace whose root has not arrived is mapped after this long without a new span. Default 30 s. */
  readonly idleMs: number;
  /** A trace that keeps receiving spans is mapped at least this often. Default 5 min. */
  readonly maxAgeMs: number;
  /** A mapped trace is kept this long, so late spans join their turn and a resent span maps to nothing new. Default 60 s. */
  readonly retainMs: number;
}

export const DEFAULT_TRACE_BUFFER_LIMITS: TraceBufferLimits = {
  maxTraces: 10_000,
  maxSpans: 200_000,
  maxBytes: 64 * 1024 * 1024,
  settleMs: 1_000,
  idleMs: 30_000,
  maxAgeMs: 300_000,
  retainMs: 60_000,
};

export interface TraceBufferOptions extends Partial<TraceBufferLimits> {
  /** A trace's spans (all held so far) to events; must be deterministic (same spans, same ids). */
  readonly toEvents: (spans: readonly OtlpSpan[]) => MappedEvent[];
  /** Stores events durably; rejects when it cannot (the trace is tried again a second later). */
  readonly store: (events: MappedEvent[]) => Promise<void>;
  /** A store or mapping failure, with the trace ids concerned (comma-separated). */
  readonly onError?: (error: unknown, traceIds: string) => void;
  readonly now?: () => number;
}

interface Entry {
  readonly spans: Map<string, OtlpSpan>;
  /** Ids of events already stored: mapping the trace again stores only what is new. */
  readonly emitted: Set<string>;
  bytes: number;
  lastMs: number;
  rootSeen: boolean;
  /** Spans arrived since the last mapping. */
  dirty: boolean;
  dirtySinceMs: number;
  flushedAtMs: number;
  retryAtMs: number;
}

const RETRY_MS = 1_000;
/** Events stored in one call (one log transaction) when many traces are due at once. */
const STORE_BATCH = 4_096;
/** Held per stored event id (the `emitted` set). */
const ID_BYTES = 120;

/** A rough size of a held span: enough to bound memory, not to measure it. */
function spanBytes(s: OtlpSpan): number {
  let n = 200 + s.name.length * 2;
  for (const [k, v] of s.attrs) n += 32 + k.length * 2 + (typeof v === 'string' ? v.length * 2 : 8);
  return n;
}

/**
 * Holds spans per trace until the trace can be mapped as a whole: spans arrive out of order,
 * children (which end first) before their parents, across export requests, and a child's turn and
 * session are known only from its ancestors. A trace is mapped (`toEvents`, then `store`) when its
 * root span has arrived and `settleMs` passed without another span, or after `idleMs` without a
 * span, or every `maxAgeMs`; then kept `retainMs` so late spans map into the same turn. Bounded by
 * traces, spans and bytes: `room` tells whether a request's spans fit now (after dropping retained
 * traces), only once others are stored (the receiver asks the client to retry), or never (more than
 * the empty buffer holds: `add` returns what does not fit, for the caller to reject and
 * dead-letter). Nothing held is dropped: a failed `store` is retried, and `close` maps every
 * waiting trace at once.
 */
export class TraceBuffer {
  readonly #o: TraceBufferOptions & TraceBufferLimits;
  readonly #traces = new Map<string, Entry>();
  readonly #timer: NodeJS.Timeout;
  #spans = 0;
  #bytes = 0;
  #flushing: Promise<void> | undefined;

  constructor(options: TraceBufferOptions) {
    this.#o = { ...DEFAULT_TRACE_BUFFER_LIMITS, ...options };
    this.#timer = setInterval(() => this.#sweep(), Math.max(5, Math.min(this.#o.settleMs, 1_000) / 2));
    this.#timer.unref();
  }

  /** Spans and traces held, and their estimated bytes. */
  get held(): { traces: number; spans: number; bytes: number } {
    return { traces: this.#traces.size, spans: this.#spans, bytes: this.#bytes };
  }

  /**
   * Whether all of `spans` fit now (after forgetting traces already stored, if it must): `now`;
   * `later` when they would fit once waiting traces are stored (the caller refuses the request for
   * a retry, taking nothing); `never` when they are more than the empty buffer holds.
   */
  room(spans: readonly OtlpSpan[]): 'now' | 'later' | 'never' {
    const traces = new Set<string>();
    let count = 0;
    let bytes = 0;
    for (const s of spans) {
      const e = this.#traces.get(s.traceId);
      if (e?.spans.has(s.spanId)) continue;
      if (e === undefined) traces.add(s.traceId);
      count++;
      bytes += spanBytes(s);
    }
    const o = this.#o;
    if (traces.size > o.maxTraces || count > o.maxSpans || bytes > o.maxBytes) return 'never';
    return this.#fits(traces.size, count, bytes) ? 'now' : 'later';
  }

  /** Takes spans in; returns those that did not fit (the caller rejects them). A span already held is taken as is. */
  add(spans: readonly OtlpSpan[]): OtlpSpan[] {
    const now = this.#now();
    const overflow: OtlpSpan[] = [];
    for (const s of spans) {
      let e = this.#traces.get(s.traceId);
      if (e?.spans.has(s.spanId)) continue;
      const size = spanBytes(s);
      if (!this.#fits(e === undefined ? 1 : 0, 1, size)) {
        overflow.push(s);
        continue;
      }
      if (e === undefined) {
        e = { spans: new Map(), emitted: new Set(), bytes: 0, lastMs: now, rootSeen: false, dirty: false, dirtySinceMs: now, flushedAtMs: 0, retryAtMs: 0 };
        this.#traces.set(s.traceId, e);
      }
      e.spans.set(s.spanId, s);
      e.bytes += size;
      this.#spans++;
      this.#bytes += size;
      if (!e.dirty) e.dirtySinceMs = now;
      e.dirty = true;
      e.lastMs = now;
      if (s.parentSpanId === '') e.rootSeen = true;
    }
    return overflow;
  }

  /** Maps and stores every waiting trace now (tests, shutdown). Rejects with the first store failure. */
  async flush(): Promise<void> {
    await this.#flushing;
    const due = [...this.#traces].filter(([, e]) => e.dirty);
    const errors: unknown[] = [];
    await this.#run(due, errors);
    if (errors.length > 0) throw errors[0];
  }

  /** Stops the timer and maps every waiting trace. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }

  /** Whether `traces` more traces, `spans` more spans and `bytes` more bytes fit, after dropping mapped (retained) traces if needed. */
  #fits(traces: number, spans: number, bytes: number): boolean {
    const fits = (): boolean =>
      this.#traces.size + traces <= this.#o.maxTraces && this.#spans + spans <= this.#o.maxSpans && this.#bytes + bytes <= this.#o.maxBytes;
    if (fits()) return true;
    for (const [id, e] of this.#traces) {
      if (e.dirty) continue;
      this.#drop(id, e);
      if (fits()) return true;
    }
    return false;
  }

  #drop(id: string, e: Entry): void {
    this.#traces.delete(id);
    this.#spans -= e.spans.size;
    this.#bytes -= e.bytes;
  }

  #sweep(): void {
    if (this.#flushing !== undefined) return;
    const now = this.#now();
    const o = this.#o;
    const due: [string, Entry][] = [];
    for (const [id, e] of this.#traces) {
      if (!e.dirty) {
        if (now - e.flushedAtMs >= o.retainMs) this.#drop(id, e);
        continue;
      }
      if (now < e.retryAtMs) continue;
      const quiet = now - e.lastMs;
      if ((e.rootSeen && quiet >= o.settleMs) || quiet >= o.idleMs || now - e.dirtySinceMs >= o.maxAgeMs) due.push([id, e]);
    }
    if (due.length > 0) void this.#run(due, []);
  }

  /**
   * Maps the given traces and stores their events in batches of about `STORE_BATCH` (one log
   * transaction each, not one per trace); the traces of a failed batch stay waiting, to be retried.
   */
  #run(due: [string, Entry][], errors: unknown[]): Promise<void> {
    const run = (async () => {
      let batch: { id: string; e: Entry; events: MappedEvent[] }[] = [];
      let size = 0;
      for (const [id, e] of due) {
        e.dirty = false; // spans arriving while it is stored make it dirty again
        try {
          const events = this.#o.toEvents([...e.spans.values()]).filter((ev) => !e.emitted.has(ev.id));
          batch.push({ id, e, events });
          size += events.length;
        } catch (error) {
          // A mapping bug for this trace: reported, not retried every second.
          e.flushedAtMs = this.#now();
          errors.push(error);
          this.#o.onError?.(error, id);
        }
        if (size >= STORE_BATCH) {
          await this.#store(batch, errors);
          batch = [];
          size = 0;
        }
      }
      if (batch.length > 0) await this.#store(batch, errors);
    })();
    this.#flushing = run.finally(() => {
      if (this.#flushing === tracked) this.#flushing = undefined;
    });
    const tracked = this.#flushing;
    return tracked;
  }

  async #store(batch: { id: string; e: Entry; events: MappedEvent[] }[], errors: unknown[]): Promise<void> {
    try {
      const events = batch.flatMap((b) => b.events);
      if (events.length > 0) await this.#o.store(events);
    } catch (error) {
      for (const { e } of batch) {
        e.dirty = true;
        e.retryAtMs = this.#now() + RETRY_MS;
      }
      errors.push(error);
      this.#o.onError?.(error, batch.map((b) => b.id).join(','));
      return;
    }
    const now = this.#now();
    for (const { e, events } of batch) {
      for (const ev of events) e.emitted.add(ev.id);
      e.bytes += events.length * ID_BYTES;
      this.#bytes += events.length * ID_BYTES;
      e.flushedAtMs = now;
    }
  }
}
