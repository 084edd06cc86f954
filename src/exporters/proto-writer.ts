/**
 * A small protobuf writer for the OTLP span encoder: one growing buffer, length-delimited fields
 * written in place (one byte reserved for the length, the body shifted when it needs more — most
 * OTLP messages are under 128 bytes), the same wire bytes as the SDK's serializer.
 */
export class ProtoWriter {
  buf: Uint8Array;
  pos = 0;
  private view: DataView;
  private readonly encoder = new TextEncoder();

  constructor(size = 1 << 16) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  /** Unsigned up to 2^53; negative integers as 10-byte two's complement (int64). */
  varint(value: number): void {
    this.ensure(10);
    const b = this.buf;
    if (value >= 0 && value <= 0xffffffff) {
      let v = value >>> 0;
      while (v > 127) {
        b[this.pos++] = (v & 127) | 128;
        v >>>= 7;
      }
      b[this.pos++] = v;
      return;
    }
    const abs = Math.abs(value);
    let low = abs >>> 0;
    let high = (abs / 4294967296) >>> 0;
    if (value < 0) {
      low = ~low >>> 0;
      high = ~high >>> 0;
      low = (low + 1) >>> 0;
      if (low === 0) high = (high + 1) >>> 0;
    }
    while (high > 0 || low > 127) {
      b[this.pos++] = (low & 127) | 128;
      low = ((low >>> 7) | (high << 25)) >>> 0;
      high >>>= 7;
    }
    b[this.pos++] = low & 127;
  }

  fixed32(value: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, value >>> 0, true);
    this.pos += 4;
  }

  fixed64(low: number, high: number): void {
    this.ensure(8);
    this.view.setUint32(this.pos, low >>> 0, true);
    this.view.setUint32(this.pos + 4, high >>> 0, true);
    this.pos += 8;
  }

  double(value: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, value, true);
    this.pos += 8;
  }

  bytes(value: Uint8Array): void {
    this.varint(value.length);
    this.raw(value);
  }

  /** Bytes as they are (an already encoded field). */
  raw(value: Uint8Array): void {
    this.ensure(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
  }

  /** What `hex(value)` writes (length and bytes), for an id written many times (a turn's trace id, its root span's id): `raw` it. */
  static hexBytes(value: string): Uint8Array {
    const n = value.length >>> 1;
    if (n > 127) {
      const w = new ProtoWriter(n + 10);
      w.hex(value);
      return w.copy();
    }
    // An id (8 or 16 bytes): a one-byte length, then the bytes; written straight into its array
    // (a writer per call made its buffer, a DataView and a TextEncoder, twice a turn).
    const out = new Uint8Array(n + 1);
    out[0] = n;
    for (let i = 0; i < n; i++) out[i + 1] = (nibble(value.charCodeAt(2 * i)) << 4) | nibble(value.charCodeAt(2 * i + 1));
    return out;
  }

  /** A lowercase hex string as the bytes it spells (length-delimited): an OTLP trace or span id. */
  hex(value: string): void {
    const n = value.length >>> 1;
    this.varint(n);
    this.ensure(n);
    const b = this.buf;
    for (let i = 0; i < n; i++) b[this.pos++] = (nibble(value.charCodeAt(2 * i)) << 4) | nibble(value.charCodeAt(2 * i + 1));
  }

  string(value: string): void {
    // One pass for ASCII (nearly every string here): its length is its UTF-8 length, each unit a
    // byte; at the first unit that is not, start again with the encoder.
    const n = value.length;
    const start = this.pos;
    this.varint(n);
    this.ensure(n);
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) {
      const c = value.charCodeAt(i);
      if (c > 127) {
        this.pos = start;
        this.bytes(this.encoder.encode(value));
        return;
      }
      b[p++] = c;
    }
    this.pos = p;
  }

  /** Starts a length-delimited body: returns where its length goes (pass it to `end`). */
  begin(): number {
    this.ensure(1);
    return this.pos++;
  }

  /** Ends the body begun at `at`: writes its length there, moving the body if the length needs more than a byte. */
  end(at: number): void {
    const length = this.pos - at - 1;
    if (length < 128) {
      this.buf[at] = length;
      return;
    }
    let size = 1;
    for (let v = length; v > 127; v >>>= 7) size++;
    this.ensure(size - 1);
    this.buf.copyWithin(at + size, at + 1, this.pos);
    this.pos += size - 1;
    let v = length;
    let p = at;
    while (v > 127) {
      this.buf[p++] = (v & 127) | 128;
      v >>>= 7;
    }
    this.buf[p] = v;
  }

  /** A copy of what was written since `from`. */
  copy(from = 0): Uint8Array {
    return this.buf.slice(from, this.pos);
  }
}

/** 0-9, a-f (and A-F) as their value. */
const nibble = (c: number): number => (c <= 57 ? c - 48 : (c | 32) - 87);
