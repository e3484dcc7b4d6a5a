import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Profile as PprofFormatProfile } from 'pprof-format';
import { emptyProfile } from '../profile.js';
import type { Int64, Profile } from '../profile.js';
import { ByteWriter } from './byte-writer.js';
import { decodePprof } from './profile-reader.js';
import { encodePprof } from './profile-writer.js';
import { bytes, normaliseOurs, normaliseTheirs, varint, wire } from './testing.js';

const { v, len, str, packed } = wire;

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** An Int64 as the model represents it: a number when safe, else a bigint. */
const toInt64 = (x: bigint): Int64 => (x >= -MAX_SAFE && x <= MAX_SAFE ? Number(x) : x);

const int64Arb: fc.Arbitrary<Int64> = fc
  .oneof(
    fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
    fc.bigInt({ min: -1000n, max: 1000n }),
    fc.constantFrom(0n, -1n, MAX_SAFE, MAX_SAFE + 1n, -MAX_SAFE - 1n, 1n << 60n, -(1n << 63n)),
  )
  .map(toInt64);
const uint64Arb: fc.Arbitrary<Int64> = fc
  .oneof(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.bigInt({ min: 0n, max: 1n << 40n }))
  .map(toInt64);
const idArb = fc.oneof(fc.nat(1000), fc.constant(Number.MAX_SAFE_INTEGER));
const indexArb = fc.oneof(fc.nat(20), fc.constant(-1));

const profileArb: fc.Arbitrary<Profile> = fc.record({
  sampleType: fc.array(fc.record({ type: indexArb, unit: indexArb }), { maxLength: 3 }),
  sample: fc.array(
    fc.record({
      locationId: fc.array(idArb, { maxLength: 70 }),
      value: fc.array(int64Arb, { maxLength: 4 }),
      label: fc.array(
        fc.record({ key: indexArb, str: indexArb, num: int64Arb, numUnit: indexArb }),
        {
          maxLength: 3,
        },
      ),
    }),
    { maxLength: 5 },
  ),
  mapping: fc.array(
    fc.record({
      id: idArb,
      memoryStart: uint64Arb,
      memoryLimit: uint64Arb,
      fileOffset: uint64Arb,
      filename: indexArb,
      buildId: indexArb,
      hasFunctions: fc.boolean(),
      hasFilenames: fc.boolean(),
      hasLineNumbers: fc.boolean(),
      hasInlineFrames: fc.boolean(),
    }),
    { maxLength: 3 },
  ),
  location: fc.array(
    fc.record({
      id: idArb,
      mappingId: idArb,
      address: uint64Arb,
      line: fc.array(fc.record({ functionId: idArb, line: int64Arb, column: int64Arb }), {
        maxLength: 3,
      }),
      isFolded: fc.boolean(),
    }),
    { maxLength: 5 },
  ),
  function: fc.array(
    fc.record({
      id: idArb,
      name: indexArb,
      systemName: indexArb,
      filename: indexArb,
      startLine: int64Arb,
    }),
    { maxLength: 5 },
  ),
  // pprof-format's TextDecoder drops a leading BOM; ours keeps it (tested in byte-reader.spec).
  stringTable: fc.array(
    fc
      .oneof(fc.string(), fc.string({ unit: 'grapheme', maxLength: 200 }))
      .map((s) => s.replace(/^\ufeff/, '')),
    { maxLength: 8 },
  ),
  dropFrames: indexArb,
  keepFrames: indexArb,
  timeNanos: int64Arb,
  durationNanos: int64Arb,
  periodType: fc.option(fc.record({ type: indexArb, unit: indexArb }), { nil: undefined }),
  period: int64Arb,
  comment: fc.array(indexArb, { maxLength: 3 }),
  defaultSampleType: indexArb,
  docUrl: indexArb,
});

describe('encodePprof', () => {
  it('an empty profile encodes to the empty string entry only', () => {
    assert.deepStrictEqual([...encodePprof(emptyProfile())], [0x32, 0x00]);
  });

  it('writes canonical protobuf: packed repeated fields, zeros omitted', () => {
    const p = emptyProfile();
    p.sampleType.push({ type: 1, unit: 0 });
    p.sample.push({ locationId: [1, 300], value: [-1, 0], label: [] });
    p.timeNanos = 1n << 60n;
    const expected = bytes(
      len(1, v(1, 1)),
      len(2, [...packed(1, [1, 300]), ...packed(2, [-1, 0])]),
      str(6, ''),
      v(9, 1n << 60n),
    );
    assert.deepStrictEqual(encodePprof(p), expected);
  });

  it('round-trips negative, 2^53+ and 2^60 values and uint64 addresses exactly', () => {
    const p = emptyProfile();
    p.sample.push({
      locationId: [1],
      value: [-1, -(2 ** 40), 2n ** 53n, 1n << 60n, -(1n << 63n), (1n << 63n) - 1n],
      label: [{ key: 1, str: 0, num: -(1n << 60n), numUnit: 0 }],
    });
    p.location.push({
      id: 1,
      mappingId: 1,
      address: 0xffffffffffffffffn,
      line: [{ functionId: 1, line: -5, column: 2n ** 62n }],
      isFolded: false,
    });
    p.mapping.push({
      id: 1,
      memoryStart: 0xffffffff80000000n,
      memoryLimit: 0xffffffffffffffffn,
      fileOffset: 2 ** 52,
      filename: 0,
      buildId: 0,
      hasFunctions: true,
      hasFilenames: false,
      hasLineNumbers: true,
      hasInlineFrames: false,
    });
    p.period = -3;
    assert.deepStrictEqual(decodePprof(encodePprof(p)), p);
  });

  it('writes lengths of 128 bytes and more (shifted in place) and long UTF-8 strings', () => {
    const p = emptyProfile();
    const ids = Array.from({ length: 20_000 }, (_, i) => i * 37);
    p.sample.push({ locationId: ids, value: [1], label: [] });
    p.stringTable.push('x'.repeat(127), 'y'.repeat(128), 'é'.repeat(100), '日本'.repeat(3000));
    p.stringTable.push('🔥'.repeat(20_000), 'a'.repeat(300_000));
    const b = encodePprof(p);
    assert.deepStrictEqual(decodePprof(b), p);
    assert.deepStrictEqual(
      normaliseTheirs(PprofFormatProfile.decode(Buffer.from(b))),
      normaliseOurs(p),
    );
  });

  it('encodes a bigint that happens to be small in its shortest form', () => {
    const p = emptyProfile();
    p.period = 5n;
    assert.deepStrictEqual(encodePprof(p), bytes(str(6, ''), v(12, 5)));
  });

  it('writes a lone surrogate as U+FFFD, as TextEncoder does (UTF-8 cannot hold it)', () => {
    const p = emptyProfile();
    p.stringTable.push('a\ud800b', '\udc00'.repeat(50));
    assert.deepStrictEqual(decodePprof(encodePprof(p)).stringTable, [
      '',
      'a\ufffdb',
      '\ufffd'.repeat(50),
    ]);
  });

  it('throws RangeError for values the model forbids', () => {
    for (const bad of [
      1.5,
      Number.NaN,
      2 ** 53,
      -(2 ** 60),
      Infinity,
      1n << 64n,
      -(1n << 63n) - 1n,
    ]) {
      const p = emptyProfile();
      p.period = bad;
      assert.throws(() => encodePprof(p), RangeError, String(bad));
    }
    const holey = emptyProfile();
    holey.sample.push({ locationId: new Array<number>(2), value: [], label: [] });
    assert.throws(() => encodePprof(holey), RangeError);
  });

  it('property: decode(encode(p)) equals p, and pprof-format reads the same profile', () => {
    fc.assert(
      fc.property(profileArb, (generated) => {
        // fc.record builds null-prototype objects; the decoder builds plain ones.
        const p = structuredClone(generated);
        const b = encodePprof(p);
        assert.deepStrictEqual(decodePprof(b), p);
        assert.deepStrictEqual(
          normaliseTheirs(PprofFormatProfile.decode(Buffer.from(b))),
          normaliseOurs({ ...p, stringTable: p.stringTable.length ? p.stringTable : [''] }),
        );
      }),
      { numRuns: 300 },
    );
  });
});

describe('ByteWriter', () => {
  it('int64 matches the reference varint for edge values', () => {
    const values: Int64[] = [
      0,
      1,
      127,
      128,
      2 ** 28 - 1,
      2 ** 28,
      2 ** 32 - 1,
      2 ** 32,
      2 ** 35,
      Number.MAX_SAFE_INTEGER,
      -1,
      -(2 ** 31),
      -(2 ** 32),
      -Number.MAX_SAFE_INTEGER,
      2n ** 53n,
      (1n << 64n) - 1n,
      -(1n << 63n),
    ];
    for (const x of values) {
      const w = new ByteWriter(1);
      w.int64(x);
      assert.deepStrictEqual([...w.finish()], varint(x), String(x));
    }
  });

  it('grows from a tiny buffer without losing bytes', () => {
    const w = new ByteWriter(1);
    for (let i = 0; i < 1000; i++) {
      const s = w.begin();
      w.string('é'.repeat(i % 50));
      w.int64(-i);
      w.end(s);
    }
    const out = w.finish();
    assert.ok(out.length > 1000);
    let pos = 0;
    for (let i = 0; i < 1000; i++) {
      // each record: length, string length, bytes, varint
      const strBytes = 2 * (i % 50);
      const body = 1 + strBytes + (i === 0 ? 1 : 10);
      assert.equal(out[pos], body, `record ${i}`);
      pos += 1 + body;
    }
    assert.equal(pos, out.length);
  });
});
