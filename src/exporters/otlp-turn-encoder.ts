import { SpanStatusCode, type AttributeValue, type Attributes } from '@opentelemetry/api';
import type { SpanTurn } from './span-turn.ts';
import { deterministicIds } from './deterministic-ids.ts';
import { ProtoWriter } from './proto-writer.ts';
import { spanIdOf, turnSpanShapes, type TurnSpanShape } from './turn-span-shapes.ts';
import { hrTimeOfMs } from './turn-spans.ts';

/** Sampled (trace flags 0x01) with "has is_remote" (0x100), not remote: what the SDK writes for these spans. */
const SPAN_FLAGS = 0x101;
const MAX_INT64 = 2 ** 63;

/** Turns' spans as the `spans` fields of one ScopeSpans message (field 2 of it, each length-delimited). */
export interface EncodedSpans {
  readonly bytes: Uint8Array;
  readonly spans: number;
}

/**
 * OTLP protobuf straight from turn records: a turn's spans (`turnSpanShapes`, the same ones
 * `buildTurnSpans` makes) are encoded without building SDK span objects, hex ids or per-request
 * grouping, and a batch becomes an `ExportTraceServiceRequest` by putting the pre-encoded resource
 * and scope in front. The bytes are the SDK's `ProtobufTraceSerializer` bytes for the same spans
 * (a test compares them), so what a collector receives does not change.
 */
export class OtlpTurnEncoder {
  private readonly w = new ProtoWriter();
  private readonly keys = new Map<string, Uint8Array>();
  /** `resource` (field 1 of ResourceSpans), encoded once. */
  private readonly resource: Uint8Array;
  /** `scope` (field 1 of ScopeSpans), encoded once. */
  private readonly scope: Uint8Array;

  constructor(identity: { readonly serviceName: string; readonly version: string }) {
    const w = this.w;
    w.tag(1, 2);
    const r = w.begin();
    this.attributes({ 'service.name': identity.serviceName, 'service.version': identity.version }, 1);
    w.tag(2, 0);
    w.varint(0);
    w.end(r);
    this.resource = w.copy();
    w.pos = 0;
    w.tag(1, 2);
    const s = w.begin();
    w.tag(1, 2);
    w.string('turnstream');
    if (identity.version !== '') {
      w.tag(2, 2);
      w.string(identity.version);
    }
    w.end(s);
    this.scope = w.copy();
    w.pos = 0;
  }

  /** The spans of these turns, encoded. */
  encode(turns: readonly SpanTurn[]): EncodedSpans {
    const w = this.w;
    w.pos = 0;
    let spans = 0;
    for (const a of turns) {
      // Written into every span of the turn: spelled out of hex once (the root's id is each child's parent).
      const traceId = ProtoWriter.hexBytes(deterministicIds.traceId(a.session, a.turn));
      let root: Uint8Array | undefined;
      for (const s of turnSpanShapes(a)) {
        const id = spanIdOf(deterministicIds, a, s);
        w.tag(2, 2);
        const at = w.begin();
        this.span(s, traceId, id, root);
        w.end(at);
        root ??= ProtoWriter.hexBytes(id);
        spans++;
      }
    }
    return { bytes: w.copy(), spans };
  }

  /** One `ExportTraceServiceRequest` holding these encoded spans (one resource, one scope). */
  request(batch: readonly Uint8Array[]): Uint8Array {
    let spansLength = 0;
    for (const b of batch) spansLength += b.length;
    const scopeSpans = this.scope.length + spansLength;
    const resourceSpans = this.resource.length + 1 + varintSize(scopeSpans) + scopeSpans;
    const out = new ProtoWriter(1 + varintSize(resourceSpans) + resourceSpans);
    out.tag(1, 2);
    out.varint(resourceSpans);
    out.raw(this.resource);
    out.tag(2, 2);
    out.varint(scopeSpans);
    out.raw(this.scope);
    for (const b of batch) out.raw(b);
    return out.buf.subarray(0, out.pos);
  }

  private span(s: TurnSpanShape, traceId: Uint8Array, id: string, parent: Uint8Array | undefined): void {
    const w = this.w;
    w.tag(1, 2);
    w.raw(traceId);
    w.tag(2, 2);
    w.hex(id);
    if (parent !== undefined) {
      w.tag(4, 2);
      w.raw(parent);
    }
    w.tag(5, 2);
    w.string(s.name);
    w.tag(6, 0);
    w.varint(s.kind + 1);
    w.tag(7, 1);
    this.time(s.startMs);
    w.tag(8, 1);
    this.time(s.endMs);
    this.attributes(s.attributes, 9);
    // Dropped attributes (10), events (12), links (14): none; no events (11) or links (13).
    w.tag(10, 0);
    w.varint(0);
    w.tag(12, 0);
    w.varint(0);
    w.tag(14, 0);
    w.varint(0);
    w.tag(15, 2);
    const status = w.begin();
    if (s.error !== undefined && s.error !== '') {
      w.tag(2, 2);
      w.string(s.error);
    }
    w.tag(3, 0);
    w.varint(s.error === undefined ? SpanStatusCode.UNSET : SpanStatusCode.ERROR);
    w.end(status);
    w.tag(16, 5);
    w.fixed32(SPAN_FLAGS);
  }

  /** Epoch ms as nanoseconds in a fixed64, through the same [s, ns] the SDK spans carry. */
  private time(ms: number): void {
    const [seconds, nanos] = hrTimeOfMs(ms);
    const fromLow = (seconds & 0xffff) * 1e9;
    const fromHigh = ((seconds / 0x10000) >>> 0) * 1e9;
    const low = (fromLow >>> 0) + (((fromHigh & 0xffff) * 0x10000) >>> 0) + nanos;
    const high = Math.floor(fromLow / 4294967296) + ((fromHigh / 0x10000) >>> 0) + Math.floor(low / 4294967296);
    this.w.fixed64(low >>> 0, high >>> 0);
  }

  private attributes(attributes: Attributes, field: number): void {
    const w = this.w;
    for (const key in attributes) {
      if (!Object.hasOwn(attributes, key)) continue;
      w.tag(field, 2);
      const kv = w.begin();
      w.raw(this.key(key));
      w.tag(2, 2);
      const value = w.begin();
      this.value(attributes[key]);
      w.end(value);
      w.end(kv);
    }
  }

  /** `key` (field 1 of KeyValue) with its tag and length, encoded once per name. */
  private key(name: string): Uint8Array {
    let bytes = this.keys.get(name);
    if (bytes === undefined) {
      const k = new ProtoWriter(name.length * 3 + 8);
      k.tag(1, 2);
      k.string(name);
      bytes = k.copy();
      this.keys.set(name, bytes);
    }
    return bytes;
  }

  /** An AnyValue, as the SDK writes an attribute value. */
  private value(v: AttributeValue | undefined | null): void {
    const w = this.w;
    if (typeof v === 'string') {
      w.tag(1, 2);
      w.string(v);
    } else if (typeof v === 'boolean') {
      w.tag(2, 0);
      w.varint(v ? 1 : 0);
    } else if (typeof v === 'number') {
      if (Number.isInteger(v) && v >= -MAX_INT64 && v < MAX_INT64) {
        w.tag(3, 0);
        w.varint(v);
      } else {
        w.tag(4, 1);
        w.double(v);
      }
    } else if (Array.isArray(v)) {
      w.tag(5, 2);
      const array = w.begin();
      for (const item of v) {
        w.tag(1, 2);
        const at = w.begin();
        this.value(item);
        w.end(at);
      }
      w.end(array);
    }
  }
}

function varintSize(v: number): number {
  let size = 1;
  while (v > 127) {
    v = Math.floor(v / 128);
    size++;
  }
  return size;
}
