import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ByteReader } from './byte-reader.js';
import { PprofDecodeError } from './errors.js';
import { varint } from './testing.js';

const reader = (b: number[]): ByteReader => new ByteReader(new Uint8Array(b));

function throwsKind(fn: () => unknown, kind: string, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof PprofDecodeError, `expected PprofDecodeError, got ${String(e)}`);
    assert.equal(e.kind, kind);
    if (message) assert.match(e.message, message);
    return true;
  });
}

describe('ByteReader varints', () => {
  const cases: Array<[bigint, 'int64' | 'uint64', number | bigint]> = [
    [0n, 'int64', 0],
    [1n, 'int64', 1],
    [127n, 'int64', 127],
    [128n, 'int64', 128],
    [(1n << 28n) - 1n, 'int64', 2 ** 28 - 1],
    [1n << 28n, 'int64', 2 ** 28],
    [(1n << 32n) + 5n, 'int64', 2 ** 32 + 5],
    [BigInt(Number.MAX_SAFE_INTEGER), 'int64', Number.MAX_SAFE_INTEGER],
    [BigInt(Number.MAX_SAFE_INTEGER) + 1n, 'int64', 2n ** 53n],
    [1n << 60n, 'int64', 1n << 60n],
    [(1n << 63n) - 1n, 'int64', (1n << 63n) - 1n],
    [-1n, 'int64', -1],
    [-5n, 'int64', -5],
    [-(2n ** 31n), 'int64', -(2 ** 31)],
    [-BigInt(Number.MAX_SAFE_INTEGER), 'int64', -Number.MAX_SAFE_INTEGER],
    [-(2n ** 53n), 'int64', -(2n ** 53n)],
    [-(1n << 60n), 'int64', -(1n << 60n)],
    [-(1n << 63n), 'int64', -(1n << 63n)],
    [-1n, 'uint64', (1n << 64n) - 1n],
    [0xffffffff81000000n, 'uint64', 0xffffffff81000000n],
    [0x7fffffffffffn, 'uint64', 0x7fffffffffff],
  ];
  for (const [value, type, expected] of cases) {
    it(`${type} ${value} decodes exactly, with and without trailing bytes`, () => {
      const enc = varint(value);
      for (const pad of [[], new Array<number>(12).fill(0)]) {
        const r = reader([...enc, ...pad]);
        const got = type === 'int64' ? r.int64(enc.length) : r.uint64(enc.length);
        assert.equal(typeof got, typeof expected);
        assert.equal(got, expected);
        assert.equal(r.pos, enc.length);
      }
    });
  }

  it('a negative varint takes ten bytes', () => {
    assert.equal(varint(-1n).length, 10);
  });

  it('ids above 2^53-1 are a limit error, not a lossy number', () => {
    throwsKind(() => reader(varint(2n ** 53n)).uint(10, 'location id'), 'limit', /location id/);
    assert.equal(reader(varint(2n ** 53n - 1n)).uint(10, 'id'), Number.MAX_SAFE_INTEGER);
  });

  it('string indices outside the safe range are malformed; negative ones are kept', () => {
    throwsKind(() => reader(varint(1n << 60n)).int(10), 'malformed');
    assert.equal(reader(varint(-3n)).int(10), -3);
  });

  it('a varint cut by the end of input is truncated', () => {
    for (const b of [
      [0x80],
      [0xff, 0xff],
      [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    ]) {
      throwsKind(() => reader(b).int64(b.length), 'truncated');
      throwsKind(() => reader(b).uint(b.length, 'x'), 'truncated');
      throwsKind(() => reader(b).tag(b.length), 'truncated');
    }
  });

  it('a varint cut by the end of its enclosing message is malformed', () => {
    throwsKind(() => reader([0x80, 0x80, 0x01, 0x00]).int64(2), 'malformed', /overruns/);
  });

  it('an eleven-byte varint is malformed', () => {
    const b = [...new Array<number>(10).fill(0x80), 0x01];
    throwsKind(() => reader(b).int64(b.length), 'malformed', /longer than 10 bytes/);
  });

  it('a tenth byte with bits above bit 63 is malformed', () => {
    const b = [...new Array<number>(9).fill(0xff), 0x02];
    throwsKind(() => reader(b).int64(b.length), 'malformed', /wider than 64 bits/);
    const ok = [...new Array<number>(9).fill(0xff), 0x01];
    assert.equal(reader(ok).int64(ok.length), -1);
  });

  it('padded (non-minimal) varints decode to their value', () => {
    assert.equal(reader([0x81, 0x80, 0x80, 0x00]).int64(4), 1);
    assert.equal(reader([0x80, 0x00]).uint(2, 'x'), 0);
  });

  it('bool is any non-zero varint', () => {
    assert.equal(reader([0x00]).bool(1), false);
    assert.equal(reader([0x02]).bool(1), true);
    assert.equal(reader([0x80, 0x80, 0x01]).bool(3), true);
  });
});

describe('ByteReader tags, lengths and skipping', () => {
  it('field number 0 is malformed', () => {
    throwsKind(() => reader([0x00]).tag(1), 'malformed', /field number 0/);
    throwsKind(() => reader([0x80, 0x00]).tag(2), 'malformed', /field number 0/);
  });

  it('a length past the end of input is truncated', () => {
    throwsKind(() => reader([0x05, 1, 2]).delimited(3), 'truncated');
  });

  it('a length past the enclosing message is malformed', () => {
    throwsKind(() => reader([0x05, 1, 2, 3, 4, 5, 6]).delimited(3), 'malformed');
  });

  it('a huge length is truncated, not a crash', () => {
    const b = varint((1n << 62n) + 3n);
    throwsKind(() => reader(b).delimited(b.length), 'truncated');
    const b2 = varint(0xffffffffn);
    throwsKind(() => reader(b2).delimited(b2.length), 'truncated');
  });

  it('skips every valid wire type', () => {
    const r = reader([0x96, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 0x02, 9, 9, 1, 2, 3, 4]);
    r.skip(0, 17);
    assert.equal(r.pos, 2);
    r.skip(1, 17);
    assert.equal(r.pos, 10);
    r.skip(2, 17);
    assert.equal(r.pos, 13);
    r.skip(5, 17);
    assert.equal(r.pos, 17);
  });

  it('rejects groups and invalid wire types', () => {
    throwsKind(() => reader([]).skip(3, 0), 'malformed', /group/);
    throwsKind(() => reader([]).skip(4, 0), 'malformed', /group/);
    throwsKind(() => reader([]).skip(6, 0), 'malformed', /wire type 6/);
    throwsKind(() => reader([]).skip(7, 0), 'malformed', /wire type 7/);
  });

  it('fixed-width values cut short are truncated', () => {
    throwsKind(() => reader([1, 2, 3]).skip(1, 3), 'truncated');
    throwsKind(() => reader([1, 2, 3]).skip(5, 3), 'truncated');
  });

  it('a known field with the wrong wire type is malformed', () => {
    throwsKind(
      () => reader([1]).skipUnknown((2 << 3) | 5, 1, ['', 'A', 'B', 'C']),
      'malformed',
      /^proto: wrong wireType = 5 for field B/,
    );
  });
});

describe('ByteReader strings', () => {
  it('decodes UTF-8, including a leading BOM, exactly', () => {
    const s = '\ufeffhé 日本 🔥';
    const b = [...new TextEncoder().encode(s)];
    const r = reader(b);
    assert.equal(r.utf8(b.length), s);
    assert.equal(r.pos, b.length);
  });

  it('decodes from a SharedArrayBuffer and from a view at an offset', () => {
    const s = 'ünïcödé '.repeat(20);
    const b = new TextEncoder().encode(s);
    const shared = new Uint8Array(new SharedArrayBuffer(b.length + 3), 3);
    shared.set(b);
    assert.equal(new ByteReader(shared).utf8(b.length), s);
    const invalid = new Uint8Array(new SharedArrayBuffer(2));
    invalid.set([0xc3, 0x28]);
    throwsKind(() => new ByteReader(invalid).utf8(2), 'invalid-utf8');
  });

  it('invalid UTF-8 is invalid-utf8', () => {
    for (const b of [[0xff], [0xc3], [0xed, 0xa0, 0x80], [0x61, 0x80, 0x62]]) {
      throwsKind(() => reader(b).utf8(b.length), 'invalid-utf8');
    }
  });
});
