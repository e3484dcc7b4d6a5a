import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ByteReader } from './byte-reader.js';
import { JfrError } from './errors.js';
import { Bytes } from './testing.js';

function reader(b: Bytes): ByteReader {
  return new ByteReader(b.bytes());
}

describe('ByteReader varints', () => {
  it('reads values around every byte-length boundary exactly', () => {
    const values = [
      0n,
      1n,
      127n,
      128n,
      16383n,
      16384n,
      2n ** 32n - 1n,
      2n ** 49n - 1n,
      2n ** 49n,
      2n ** 53n - 1n,
      2n ** 53n,
      2n ** 56n - 1n,
      2n ** 56n,
      2n ** 63n,
      2n ** 64n - 1n,
    ];
    for (const v of values) {
      const r = reader(new Bytes().varint(v));
      assert.equal(BigInt(r.readId()), v, `value ${v}`);
      assert.equal(r.remaining(), 0, `consumed all of ${v}`);
    }
  });

  it('returns the -1 sentinel with the exact value in `big` above 2^53-1', () => {
    const r = reader(new Bytes().varint(2n ** 53n).varint(2n ** 53n - 1n));
    assert.equal(r.readLong(), -1);
    assert.equal(r.big, 2n ** 53n);
    assert.equal(r.readLong(), Number.MAX_SAFE_INTEGER);
  });

  it('takes all 8 bits of the 9th byte', () => {
    const r = new ByteReader(
      Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x05]),
    );
    assert.equal(r.readLong(), -1);
    assert.equal(r.big, 2n ** 64n - 1n);
    assert.equal(r.readLong(), 5);
  });

  it('reads padded varints (the JDK writes sizes as 4 bytes)', () => {
    const r = reader(new Bytes().padded4(3));
    assert.equal(r.readLong(), 3);
    assert.equal(r.remaining(), 0);
  });

  it('reads signed longs as two’s complement', () => {
    const r = reader(new Bytes().varint(-16).varint(16));
    assert.equal(r.readSignedLong(), -16);
    assert.equal(r.readSignedLong(), 16);
  });

  it('throws truncated inside a varint', () => {
    const r = new ByteReader(Uint8Array.from([0x80, 0x80]));
    assert.throws(
      () => r.readLong(),
      (e: unknown) => e instanceof JfrError && e.kind === 'truncated',
    );
    assert.throws(() => new ByteReader(Uint8Array.from([0x80])).skipVarint(), JfrError);
  });
});

describe('ByteReader strings', () => {
  it('reads and skips all six encodings', () => {
    const b = new Bytes()
      .string(null, 0)
      .string('', 1)
      .string('7', 2)
      .string('héllo →', 3)
      .string('𝄞 clef', 4)
      .string('caf\u00e9\u0080', 5);
    const r = reader(b);
    r.stringRef = (id) => `pooled#${id}`;
    assert.deepEqual(
      [
        r.readString(),
        r.readString(),
        r.readString(),
        r.readString(),
        r.readString(),
        r.readString(),
      ],
      ['', '', 'pooled#7', 'héllo →', '𝄞 clef', 'caf\u00e9\u0080'],
    );
    const s = reader(b);
    for (let i = 0; i < 6; i++) s.skipString();
    assert.equal(s.remaining(), 0);
  });

  it('reads long UTF-8 and ASCII strings', () => {
    const long = 'x'.repeat(1000) + 'ü';
    assert.equal(reader(new Bytes().string(long)).readString(), long);
    const ascii = 'a'.repeat(100);
    assert.equal(reader(new Bytes().string(ascii)).readString(), ascii);
  });

  it('refuses unknown encodings and over-long strings', () => {
    assert.throws(
      () => new ByteReader(Uint8Array.from([9])).readString(),
      (e: unknown) => e instanceof JfrError && e.kind === 'malformed',
    );
    const big = new ByteReader(new Bytes().string('abcdef').bytes(), 0, undefined, 3);
    assert.throws(
      () => big.readString(),
      (e: unknown) => e instanceof JfrError && e.kind === 'limit',
    );
    assert.throws(
      () => new ByteReader(Uint8Array.from([3, 10, 65])).readString(),
      (e: unknown) => e instanceof JfrError && e.kind === 'truncated',
    );
  });
});
