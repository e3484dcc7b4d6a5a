// proto3 wire primitives: a growable writer (Push messages, query API responses) and, for the
// Push messages, a bounds-checked reader whose errors read like the vtprotobuf decoder Pyroscope
// uses (`unexpected EOF`, `proto: integer overflow`, ...). Nothing here allocates beyond what it
// returns.

export class WireError extends Error {
  override readonly name = 'WireError';
}

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_BYTES = 2;
export const WIRE_START_GROUP = 3;
export const WIRE_END_GROUP = 4;
export const WIRE_FIXED32 = 5;

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
const strictUtf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** UTF-8 text; invalid sequences become U+FFFD. */
export function decodeUtf8(b: Uint8Array): string {
  return utf8Decoder.decode(b);
}

/** UTF-8 text, or undefined when `b` is not valid UTF-8. */
export function decodeUtf8Strict(b: Uint8Array): string | undefined {
  try {
    return strictUtf8Decoder.decode(b);
  } catch {
    return undefined;
  }
}

/**
 * A growable proto3 writer, shared by the Push codecs and the query API's responses. Singular
 * scalars at their default are not written, as Go's marshaller does; `stringElem` and `message`
 * always write (elements of repeated fields).
 */
export class ProtoWriter {
  private buf: Uint8Array;
  private pos = 0;

  constructor(initial = 256) {
    this.buf = new Uint8Array(initial);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  /** A varint; a negative value is an int64 in two's complement (always 10 bytes). */
  varint(v: number): this {
    this.ensure(10);
    if (v < 0) {
      let b = BigInt.asUintN(64, BigInt(Math.trunc(v)));
      for (let i = 0; i < 9; i++) {
        this.buf[this.pos++] = Number(b & 0x7fn) | 0x80;
        b >>= 7n;
      }
      this.buf[this.pos++] = Number(b);
      return this;
    }
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
    return this;
  }

  tag(field: number, wire: number): this {
    return this.varint(field * 8 + wire);
  }

  int64(field: number, v: number): this {
    if (v === 0) return this;
    return this.tag(field, WIRE_VARINT).varint(v);
  }

  bool(field: number, v: boolean): this {
    if (!v) return this;
    return this.tag(field, WIRE_VARINT).varint(1);
  }

  double(field: number, v: number): this {
    if (v === 0 && !Object.is(v, -0)) return this;
    this.tag(field, WIRE_FIXED64);
    this.ensure(8);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8).setFloat64(0, v, true);
    this.pos += 8;
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.tag(field, WIRE_BYTES);
    this.varint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** proto3: an empty string is not written */
  string(field: number, s: string): this {
    if (s === '') return this;
    return this.bytes(field, utf8.encode(s));
  }

  /** an element of a repeated string: always written */
  stringElem(field: number, s: string): this {
    return this.bytes(field, utf8.encode(s));
  }

  packedInt64(field: number, values: readonly number[]): this {
    if (values.length === 0) return this;
    const inner = new ProtoWriter(values.length * 2);
    for (const v of values) inner.varint(v);
    return this.bytes(field, inner.finish());
  }

  packedDouble(field: number, values: readonly number[]): this {
    if (values.length === 0) return this;
    const bytes = new Uint8Array(values.length * 8);
    const view = new DataView(bytes.buffer);
    values.forEach((v, i) => view.setFloat64(i * 8, v, true));
    return this.bytes(field, bytes);
  }

  /** Writes a nested message built by `fn` (always written, even when empty: repeated element). */
  message(field: number, fn: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter(64);
    fn(inner);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

export class ProtoReader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /**
   * A uint64 varint as a Number: exact up to 2^53, approximate above (only keys and lengths are
   * read here, and a length that large fails the bounds check anyway).
   */
  varint(): number {
    let result = 0;
    let mul = 1;
    for (let shift = 0; ; shift += 7) {
      if (shift >= 64) throw new WireError('proto: integer overflow');
      if (this.pos >= this.end) throw new WireError('unexpected EOF');
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * mul;
      mul *= 128;
      if (b < 0x80) return result;
    }
  }

  /**
   * Length of a length-delimited field, checked against the buffer. vtproto reads it as a Go int
   * (64-bit, wrapping), so a huge varint can be "negative".
   */
  length(): number {
    const start = this.pos;
    const n = this.varint();
    if (n < 2 ** 53) {
      if (this.pos + n > this.end) throw new WireError('unexpected EOF');
      return n;
    }
    let k = 0n;
    for (let i = start, shift = 0n; i < this.pos; i++, shift += 7n) {
      k |= BigInt(this.buf[i] & 0x7f) << shift;
    }
    k = BigInt.asIntN(64, k);
    if (k < 0n || BigInt.asIntN(64, BigInt(this.pos) + k) < 0n) {
      throw new WireError('proto: negative length found during unmarshaling');
    }
    throw new WireError('unexpected EOF');
  }

  bytesView(): Uint8Array {
    const n = this.length();
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** A proto3 string; invalid UTF-8 becomes U+FFFD (vtproto keeps the raw bytes). */
  string(): string {
    return decodeUtf8(this.bytesView());
  }

  /** Skips one field value of `wire` type (groups included), as vtproto's skip function. */
  skip(wire: number, field: number, messageName: string): void {
    switch (wire) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        if (this.pos + 8 > this.end) throw new WireError('unexpected EOF');
        this.pos += 8;
        return;
      case WIRE_BYTES: {
        const n = this.length(); // read before updating pos: `pos += length()` would lose the advance
        this.pos += n;
        return;
      }
      case WIRE_FIXED32:
        if (this.pos + 4 > this.end) throw new WireError('unexpected EOF');
        this.pos += 4;
        return;
      case WIRE_START_GROUP: {
        // vtproto counts depth only; it does not match the closing field number.
        let depth = 1;
        while (depth > 0) {
          if (this.pos >= this.end) throw new WireError('unexpected EOF');
          const start = this.pos;
          const key = this.varint();
          const w = this.buf[start] & 7; // exact even when `key` is not
          if (w === WIRE_START_GROUP) depth++;
          else if (w === WIRE_END_GROUP) depth--;
          else this.skip(w, Math.floor(key / 8), messageName);
        }
        return;
      }
      case WIRE_END_GROUP:
        throw new WireError('proto: unexpected end of group');
      default:
        throw new WireError(`proto: illegal wireType ${wire}`);
    }
  }

  /**
   * Reads a field key as vtproto does: the field number is `int32(key >> 3)` (so it wraps for huge
   * keys), end-group outside a group and field numbers ≤ 0 are rejected; the message prints the
   * whole key as "wire type".
   */
  key(messageName: string): { field: number; wire: number } {
    const start = this.pos;
    const key = this.varint();
    const wire = this.buf[start] & 7; // exact even when `key` is not
    let field = Math.floor(key / 8);
    let whole = String(key);
    if (key >= 2 ** 31) {
      // Recompute exactly: the Number varint is approximate above 2^53.
      let k = 0n;
      for (let i = start, shift = 0n; i < this.pos; i++, shift += 7n) {
        k |= BigInt(this.buf[i] & 0x7f) << shift;
      }
      k = BigInt.asUintN(64, k);
      field = Number(BigInt.asIntN(32, k >> 3n));
      whole = k.toString();
    }
    if (wire === WIRE_END_GROUP) {
      throw new WireError(`proto: ${messageName}: wiretype end group for non-group`);
    }
    if (field <= 0) {
      throw new WireError(`proto: ${messageName}: illegal tag ${field} (wire type ${whole})`);
    }
    return { field, wire };
  }
}
