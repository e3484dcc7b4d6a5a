import { JfrError, overLimit, truncated } from './errors.js';
import { anchorMaps } from './anchors.js';

const POW49 = 2 ** 49;
const utf8Decoder = new TextDecoder('utf-8');

/**
 * A cursor over the recording bytes with JFR's primitive encodings (§4.3 of the protocol doc).
 *
 * Integers are unsigned LEB128 where the 9th byte carries a full 8 bits. `readLong` returns the
 * value as a JS number whenever it is at most 2^53-1 (every size, count and nearly every id); for
 * larger values it returns the sentinel -1 and leaves the exact value in `big`. Callers that need
 * exact 64-bit ids check for a negative result; everything else never pays for BigInt.
 *
 * Every read is bounded by `end` and throws `JfrError('truncated')` past it. `end` is mutable so a
 * reader can be narrowed to one event or one chunk without copying.
 */
export class ByteReader {
  /** exact value of the last `readLong` that returned -1 */
  big = 0n;
  /**
   * Resolves string encoding 2 (an index into the chunk's `java.lang.String` pool); set per chunk.
   * Unknown ids resolve to '' (the way jfr-parser treats unknown symbols).
   */
  stringRef: ((id: number | bigint) => string) | undefined = undefined;

  constructor(
    readonly buf: Uint8Array,
    public pos = 0,
    public end = buf.length,
    readonly maxStringLength = 16 * 1024 * 1024,
  ) {}

  at(pos: number, end: number): this {
    this.pos = pos;
    this.end = end;
    return this;
  }

  remaining(): number {
    return this.end - this.pos;
  }

  u8(): number {
    if (this.pos >= this.end) throw truncated(this.pos);
    return this.buf[this.pos++];
  }

  skip(n: number): void {
    if (n < 0 || this.pos + n > this.end) throw truncated(this.end);
    this.pos += n;
  }

  /** Unsigned varint; -1 (exact value in `big`) when above 2^53-1. */
  readLong(): number {
    let pos = this.pos;
    // looks ahead within the buffer, then checks the end: the last field of a record stays fast
    if (pos + 4 <= this.buf.length) {
      // up to four bytes (28 bits) inline: sizes, type ids, pool ids, line numbers
      const buf = this.buf;
      let b = buf[pos++];
      let v = b & 0x7f;
      if (b >= 0x80) {
        b = buf[pos++];
        v |= (b & 0x7f) << 7;
        if (b >= 0x80) {
          b = buf[pos++];
          v |= (b & 0x7f) << 14;
          if (b >= 0x80) {
            b = buf[pos++];
            v |= (b & 0x7f) << 21;
            if (b >= 0x80) return this.readLongSlow();
          }
        }
      }
      if (pos > this.end) return this.readLongSlow(); // throws truncated
      this.pos = pos;
      return v;
    }
    return this.readLongSlow();
  }

  private readLongSlow(): number {
    const buf = this.buf;
    const end = this.end;
    let pos = this.pos;
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 7; i++) {
      if (pos >= end) throw truncated(pos);
      const b = buf[pos++];
      v += (b & 0x7f) * mul;
      if (b < 0x80) {
        this.pos = pos;
        return v;
      }
      mul *= 128;
    }
    if (pos >= end) throw truncated(pos);
    const b7 = buf[pos++];
    let b8 = 0;
    if (b7 >= 0x80) {
      if (pos >= end) throw truncated(pos);
      b8 = buf[pos++];
    }
    this.pos = pos;
    const h7 = b7 & 0x7f;
    if (b8 === 0 && h7 < 16) return v + h7 * POW49;
    this.big = BigInt(v) + (BigInt(h7) << 49n) + (BigInt(b8) << 56n);
    return -1;
  }

  /** Like `readLong` but the result is the exact value, as a bigint only when unsafe. */
  readId(): number | bigint {
    const v = this.readLong();
    return v >= 0 ? v : this.big;
  }

  /** A two's-complement signed long; throws `malformed` when it is not a safe integer. */
  readSignedLong(): number {
    const v = this.readLong();
    if (v >= 0) return v;
    const s = BigInt.asIntN(64, this.big);
    if (s < BigInt(Number.MIN_SAFE_INTEGER) || s > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new JfrError('malformed', `signed value out of range: ${s}`, this.pos);
    }
    return Number(s);
  }

  /** A count or length that must fit in the remaining bytes (each item takes at least one). */
  readCount(what: string): number {
    const v = this.readLong();
    if (v < 0) throw overLimit(`${what} count ${this.big}`, this.pos);
    if (v > this.end - this.pos) throw truncated(this.pos, what);
    return v;
  }

  skipVarint(): void {
    const buf = this.buf;
    const end = this.end;
    let pos = this.pos;
    for (let i = 0; i < 8; i++) {
      if (pos >= end) throw truncated(pos);
      if (buf[pos++] < 0x80) {
        this.pos = pos;
        return;
      }
    }
    if (pos >= end) throw truncated(pos);
    this.pos = pos + 1;
  }

  /** Big-endian fixed-width reads (chunk header, floats). */
  u32be(): number {
    if (this.pos + 4 > this.end) throw truncated(this.end);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
  }

  /** java.lang.String in any of the six encodings; null (0) reads as ''. */
  readString(): string {
    const tag = this.u8();
    switch (tag) {
      case 0:
      case 1:
        return '';
      case 2: {
        const id = this.readId();
        return this.stringRef === undefined ? '' : this.stringRef(id);
      }
      case 3: {
        const len = this.stringLength();
        const start = this.pos;
        this.pos += len;
        return decodeUtf8(this.buf, start, start + len);
      }
      case 4:
        return this.readCharArray();
      case 5: {
        const len = this.stringLength();
        const start = this.pos;
        this.pos += len;
        return decodeLatin1(this.buf, start, start + len);
      }
      default:
        throw new JfrError('malformed', `unknown string encoding ${tag}`, this.pos - 1);
    }
  }

  /** Same as `readString` without building the string. */
  skipString(): void {
    const tag = this.u8();
    switch (tag) {
      case 0:
      case 1:
        return;
      case 2:
        this.skipVarint();
        return;
      case 3:
      case 5: {
        const len = this.stringLength();
        this.pos += len;
        return;
      }
      case 4: {
        const n = this.stringLength();
        for (let i = 0; i < n; i++) this.skipVarint();
        return;
      }
      default:
        throw new JfrError('malformed', `unknown string encoding ${tag}`, this.pos - 1);
    }
  }

  private stringLength(): number {
    const len = this.readLong();
    if (len < 0 || len > this.maxStringLength) {
      throw overLimit(`string of ${len < 0 ? this.big : len} bytes`, this.pos);
    }
    if (len > this.end - this.pos) throw truncated(this.end, 'string');
    return len;
  }

  private readCharArray(): string {
    const n = this.stringLength();
    const units = new Array<number>(n);
    for (let i = 0; i < n; i++) units[i] = this.readLong() & 0xffff;
    let s = '';
    for (let i = 0; i < n; i += 8192) {
      s += String.fromCharCode.apply(null, units.slice(i, i + 8192));
    }
    return s;
  }
}

export function decodeUtf8(buf: Uint8Array, start: number, end: number): string {
  if (end - start <= 128) {
    for (let i = start; i < end; i++) {
      if (buf[i] >= 0x80) return utf8Decoder.decode(buf.subarray(start, end));
    }
    // Safe: the typed array is at most 128 bytes, far below the argument-count limit.
    return String.fromCharCode.apply(null, buf.subarray(start, end) as unknown as number[]);
  }
  return utf8Decoder.decode(buf.subarray(start, end));
}

/** ISO-8859-1 exactly (TextDecoder's 'latin1' is windows-1252, which differs in 0x80-0x9f). */
export function decodeLatin1(buf: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i += 8192) {
    const e = Math.min(end, i + 8192);
    s += String.fromCharCode.apply(null, buf.subarray(i, e) as unknown as number[]);
  }
  return s;
}

anchorMaps(new ByteReader(new Uint8Array(0)));
