import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MappedEvent } from '../../src/otlp/map-claude-code-logs.ts';
import type { OtlpSpan } from '../../src/otlp/otlp-spans.ts';
import { TraceBuffer } from '../../src/otlp/trace-buffer.ts';

const span = (trace: string, id: string, parent = ''): OtlpSpan => ({
  traceId: trace,
  spanId: id,
  parentSpanId: parent,
  name: 'x',
  startMs: 1,
  startSubMs: 0,
  endMs: 2,
  attrs: new Map(),
});
/** One event per span, id from the span: deterministic, like the real mapping. */
const toEvents = (spans: readonly OtlpSpan[]): MappedEvent[] => spans.map((s) => ({ id: `${s.traceId}:${s.spanId}`, type: 'llm.usage' }));

describe('TraceBuffer', () => {
  it('keeps a trace whose store failed and stores it, once, on the next try', async () => {
    const stored: string[] = [];
    let fail = true;
    const buffer = new TraceBuffer({
      settleMs: 60_000,
      toEvents,
      store: async (events) => {
        if (fail) throw new Error('disk full');
        stored.push(...events.map((e) => e.id));
      },
    });
    assert.deepEqual(buffer.add([span('t1', 'a'), span('t1', 'b', 'a')]), []);
    await assert.rejects(buffer.flush(), /disk full/);
    assert.equal(buffer.held.spans, 2);
    fail = false;
    await buffer.flush();
    await buffer.flush();
    assert.deepEqual(stored, ['t1:a', 't1:b']);
    // A late span of the same trace stores only what is new.
    buffer.add([span('t1', 'c', 'a'), span('t1', 'a')]);
    await buffer.close();
    assert.deepEqual(stored, ['t1:a', 't1:b', 't1:c']);
  });

  it('returns the spans over its bounds, after making room by forgetting traces already stored', async () => {
    const buffer = new TraceBuffer({ maxTraces: 2, maxSpans: 3, settleMs: 60_000, toEvents, store: async () => undefined });
    assert.deepEqual(buffer.add([span('t1', 'a'), span('t2', 'a')]), []);
    const over = buffer.add([span('t3', 'a')]);
    assert.deepEqual(
      over.map((s) => s.traceId),
      ['t3'],
      'two traces wait: a third does not fit',
    );
    await buffer.flush();
    assert.deepEqual(buffer.add([span('t3', 'a'), span('t4', 'a')]), [], 'stored traces make room');
    assert.equal(buffer.held.traces, 2);
    await buffer.close();
  });

  it('room: fits now (forgetting stored traces if it must), later (traces wait), or never (more than the empty buffer holds)', async () => {
    const buffer = new TraceBuffer({ maxTraces: 2, maxSpans: 3, settleMs: 60_000, toEvents, store: async () => undefined });
    assert.equal(buffer.room([span('t1', 'a'), span('t2', 'a')]), 'now');
    buffer.add([span('t1', 'a'), span('t2', 'a')]);
    assert.equal(buffer.room([span('t1', 'b', 'a')]), 'now', 'a span of a held trace needs no new trace');
    assert.equal(buffer.room([span('t1', 'a'), span('t2', 'a')]), 'now', 'spans already held take no room');
    assert.equal(buffer.room([span('t3', 'a')]), 'later', 'two traces wait');
    assert.equal(buffer.room([span('t1', 'b', 'a'), span('t2', 'b', 'a')]), 'later', 'four spans: one too many while they wait');
    assert.equal(buffer.room([span('t5', 'a'), span('t6', 'a'), span('t7', 'a')]), 'never', 'three traces: more than the buffer holds');
    assert.equal(buffer.room([span('t5', 'a'), span('t5', 'b'), span('t5', 'c'), span('t5', 'd')]), 'never', 'four spans: more than the buffer holds');
    await buffer.flush();
    assert.equal(buffer.room([span('t3', 'a'), span('t4', 'a')]), 'now', 'stored traces make room');
    assert.equal(buffer.held.traces, 0, 'room forgot the stored traces to make it');
    await buffer.close();
  });

  it('maps a rooted trace by itself after the settle time', async () => {
    const stored: string[] = [];
    const buffer = new TraceBuffer({ settleMs: 20, idleMs: 60_000, toEvents, store: async (events) => void stored.push(...events.map((e) => e.id)) });
    buffer.add([span('t1', 'b', 'a')]);
    await new Promise((ok) => setTimeout(ok, 100));
    assert.deepEqual(stored, [], 'no root yet: it waits');
    buffer.add([span('t1', 'a')]);
    await new Promise((ok) => setTimeout(ok, 150));
    assert.deepEqual(stored.sort(), ['t1:a', 't1:b']);
    await buffer.close();
  });
});
