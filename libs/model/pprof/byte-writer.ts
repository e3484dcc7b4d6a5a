import type { Int64 } from '../profile.js';

const TWO_32 = 4294967296;
const MAX_U64 = (1n << 64n) - 1n;
const MIN_I64 = -(1n << 63n);

const utf8 = new TextEncoder();

/**
 * A growable protobuf output buffer, written in one pass.
 *
 * Length-delimited values are written in place: `begin()` reserves one byte for the length,
 * the content follows, and `end()` patches the length, moving the content right in the rare
 * case it is 128 bytes or longer. No size pre-pass, no intermediate chunks.
 */
export class ByteWriter {
  // Assigned in the constructor, in one order: one hidden class for every writer.
  declare buf: Uint8Array;
  declare pos: number;

  constructor(capacity = 1024) {
    this.buf = new Uint8Array(Math.max(16, capacity));
    this.pos = 0;
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n > this.buf.length) this.grow(n);
  }

  private grow(n: number): void {
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  /** Writes a varint of a value in [0, 2^32). */
  u32(v: number): void {
    if (this.pos + 5 > this.buf.length) this.grow(5);
    const buf = this.buf;
    let pos = this.pos;
    while (v > 0x7f) {
      buf[pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[pos++] = v;
    this.pos = pos;
  }

  /**
   * Writes an int64/uint64 varint: negative values as 64-bit two's complement (ten bytes), as
   * protobuf does. Throws RangeError for a non-integer number, a number outside the safe range,
   * or a bigint outside [-2^63, 2^64).
   */
  int64(v: Int64): void {
    if (typeof v === 'number') {
      if (v >>> 0 === v) {
        this.u32(v);
        return;
      }
      if (!Number.isSafeInteger(v)) {
        throw new RangeError(`int64 field holds ${v}: not a safe integer (use a bigint)`);
      }
      const hi = Math.floor(v / TWO_32);
      this.hiLo(hi >>> 0, v - hi * TWO_32);
      return;
    }
    if (typeof v !== 'bigint' || v < MIN_I64 || v > MAX_U64) {
      throw new RangeError(`int64 field holds ${String(v)}: not an integer in the 64-bit range`);
    }
    const u = BigInt.asUintN(64, v);
    const hi = Number(u >> 32n);
    const lo = Number(u & 0xffffffffn);
    // hiLo() assumes a value of at least 2^32; a small bigint takes the short path.
    if (hi === 0) this.u32(lo);
    else this.hiLo(hi, lo);
  }

  /** Writes a varint of hi * 2^32 + lo, for hi ≥ 1 (so the value has at least five bytes). */
  private hiLo(hi: number, lo: number): void {
    if (this.pos + 10 > this.buf.length) this.grow(10);
    const buf = this.buf;
    let pos = this.pos;
    // 28 low bits of lo, then 4 bits of lo with 3 of hi, then the rest of hi.
    for (let i = 0; i < 4; i++) {
      buf[pos++] = (lo & 0x7f) | 0x80;
      lo >>>= 7;
    }
    let b = lo | ((hi & 7) << 4);
    hi >>>= 3;
    if (hi === 0) {
      buf[pos++] = b;
    } else {
      buf[pos++] = b | 0x80;
      while (hi > 0x7f) {
        buf[pos++] = (hi & 0x7f) | 0x80;
        hi >>>= 7;
      }
      b = hi;
      buf[pos++] = b;
    }
    this.pos = pos;
  }

  /** Reserves the length byte of a length-delimited value; pass the result to `end()`. */
  begin(): number {
    if (this.pos + 1 > this.buf.length) this.grow(1);
    return this.pos++;
  }

  /** Writes the length of the value started at `start`, shifting it when it needs more bytes. */
  end(start: number): void {
    const len = this.pos - start - 1;
    if (len < 0x80) {
      this.buf[start] = len;
      return;
    }
    const extra = len < 0x4000 ? 1 : len < 0x200000 ? 2 : len < 0x10000000 ? 3 : 4;
    this.ensure(extra);
    const buf = this.buf;
    buf.copyWithin(start + 1 + extra, start + 1, this.pos);
    this.pos += extra;
    putVarint(buf, start, len);
  }

  /** Writes a length-prefixed UTF-8 string. */
  string(s: string): void {
    const n = s.length;
    // ASCII fast path: one byte per UTF-16 unit, so the length is known up front.
    if (n < 0x80) {
      if (this.pos + n + 1 > this.buf.length) this.grow(n + 1);
      const buf = this.buf;
      let pos = this.pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[pos++] = c;
      }
      if (i === n) {
        buf[this.pos] = n;
        this.pos = pos;
        return;
      }
    }
    // General case: a UTF-16 unit needs at most 3 UTF-8 bytes. Reserve the widest length
    // prefix that bound needs, then close the gap if the real length needs fewer bytes.
    const max = n * 3;
    const prefix =
      max < 0x80 ? 1 : max < 0x4000 ? 2 : max < 0x200000 ? 3 : max < 0x10000000 ? 4 : 5;
    this.ensure(prefix + max);
    const start = this.pos;
    const { written } = utf8.encodeInto(s, this.buf.subarray(start + prefix, start + prefix + max));
    const need = written < 0x80 ? 1 : written < 0x4000 ? 2 : written < 0x200000 ? 3 : 4;
    if (need < prefix) this.buf.copyWithin(start + need, start + prefix, start + prefix + written);
    putVarint(this.buf, start, written);
    this.pos = start + need + written;
  }

  /** The bytes written. A view when the buffer is mostly full, else a compact copy. */
  finish(): Uint8Array {
    if (this.pos >= this.buf.length * 0.75) return this.buf.subarray(0, this.pos);
    return this.buf.slice(0, this.pos);
  }
}

/** Writes a varint of v in [0, 2^32) at `pos` with no capacity check; returns the next offset. */
function putVarint(buf: Uint8Array, pos: number, v: number): number {
  while (v > 0x7f) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}
