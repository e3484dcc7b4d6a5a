// A bounds-checked cursor over a Uint8Array for the legacy binary formats (tree, trie). Reads
// never copy (`subarray`); running past the end raises DecodeError `truncated`.

import { DecodeError } from './decode-error.js';

/** Thrown (internally) by `uvarint` when the input ends before the first byte. */
export class EndOfInput extends Error {
  override readonly name = 'EndOfInput';
}

export class ByteReader {
  pos = 0;

  constructor(readonly bytes: Uint8Array) {}

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  /**
   * Go `binary.ReadUvarint`: at most 10 bytes, the 10th at most 1. Throws `EndOfInput` when no
   * byte is left (Go's io.EOF, which some callers treat as a clean end), DecodeError `truncated`
   * when the input ends inside the varint, `malformed` on overflow.
   */
  uvarint(): bigint {
    const b = this.bytes;
    if (this.pos >= b.length) throw new EndOfInput('end of input');
    // Fast path: up to 4 bytes fit a small integer exactly.
    let x = 0;
    let shift = 0;
    for (let i = 0; i < 4; i++) {
      if (this.pos >= b.length) throw new DecodeError('truncated', 'unexpected EOF in varint');
      const c = b[this.pos++];
      if (c < 0x80) return BigInt(x + c * 2 ** shift);
      x += (c & 0x7f) * 2 ** shift;
      shift += 7;
    }
    let big = BigInt(x);
    let s = 28n;
    for (let i = 4; i < 10; i++) {
      if (this.pos >= b.length) throw new DecodeError('truncated', 'unexpected EOF in varint');
      const c = b[this.pos++];
      if (c < 0x80) {
        if (i === 9 && c > 1)
          throw new DecodeError('malformed', 'varint overflows a 64-bit integer');
        return big | (BigInt(c) << s);
      }
      big |= BigInt(c & 0x7f) << s;
      s += 7n;
    }
    throw new DecodeError('malformed', 'varint overflows a 64-bit integer');
  }

  /** Up to `n` bytes (fewer at the end of the input), as a view. */
  upTo(n: number): Uint8Array {
    const end = Math.min(this.bytes.length, this.pos + n);
    const v = this.bytes.subarray(this.pos, end);
    this.pos = end;
    return v;
  }

  /** Exactly `n` bytes, as a view; DecodeError `truncated` when fewer are left. */
  take(n: number): Uint8Array {
    if (n > this.remaining) throw new DecodeError('truncated', `unexpected EOF: need ${n} bytes`);
    const v = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
}

/** Bytes as a byte string (one char per byte), the representation legacy frame names use. */
export function byteString(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}
