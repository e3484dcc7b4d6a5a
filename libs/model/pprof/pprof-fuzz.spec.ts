import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { fixturePath } from '../../../test/support/paths.js';
import type { Profile } from '../profile.js';
import { PprofDecodeError } from './errors.js';
import { decodePprof } from './profile-reader.js';
import { encodePprof } from './profile-writer.js';
import { followsInt64Rule, int64Values, varint, wire } from './testing.js';

/**
 * The decoder's contract for hostile input: it returns a profile or throws PprofDecodeError,
 * nothing else; and whatever it returns re-encodes to bytes that decode to the same profile.
 */
function checkContract(b: Uint8Array): void {
  let p: Profile;
  try {
    p = decodePprof(b, { maxSamples: 100_000, maxStrings: 100_000 });
  } catch (e) {
    if (e instanceof PprofDecodeError) {
      assert.ok(['truncated', 'malformed', 'limit', 'invalid-utf8'].includes(e.kind), e.kind);
      assert.ok(e.offset >= 0 && e.offset <= b.length, `offset ${e.offset} of ${b.length}`);
      return;
    }
    throw e;
  }
  for (const x of int64Values(p)) assert.ok(followsInt64Rule(x), `Int64 rule: ${x}`);
  assert.deepStrictEqual(decodePprof(encodePprof(p)), p);
}

function load(...parts: string[]): Uint8Array {
  const b = readFileSync(fixturePath(...parts));
  return new Uint8Array(b[0] === 0x1f && b[1] === 0x8b ? gunzipSync(b) : b);
}

// Small real profiles of different producers (Go, Java, Node, Python, Ruby, Rust, .NET).
const seeds = [
  load('pyroscope', 'pprof', 'cpu.pb.gz'),
  load('pyroscope', 'pprof', 'heap-js.pprof'),
  load('pyroscope', 'pprof', 'profile_python'),
  load('pyroscope', 'pprof', 'profile_rust'),
  load('pyroscope', 'pprof', 'req_2.pprof'),
  load('pyroscope', 'pprof', 'nodejs-wall.pb.gz'),
  load('pyroscope', 'pprof', 'pyspy-1.pb.gz'),
];

const valueArb = fc.oneof(
  { weight: 6, arbitrary: fc.bigInt({ min: 0n, max: 300n }) },
  { weight: 1, arbitrary: fc.bigInt({ min: -(1n << 63n), max: (1n << 64n) - 1n }) },
);

/** Unknown fields of every valid wire type, and now and then a stray byte. */
const noiseArb: fc.Arbitrary<number[]> = fc.oneof(
  fc.tuple(fc.integer({ min: 16, max: 5000 }), valueArb).map(([f, v]) => wire.v(f, v)),
  fc.integer({ min: 16, max: 40 }).map((f) => wire.fixed64(f)),
  fc.integer({ min: 16, max: 40 }).map((f) => wire.fixed32(f)),
  fc
    .tuple(fc.integer({ min: 16, max: 40 }), fc.uint8Array({ maxLength: 6 }))
    .map(([f, b]) => wire.len(f, [...b])),
  fc
    .tuple(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 0, max: 7 }))
    .map(([f, t]) => wire.tag(f, t)),
  fc.uint8Array({ minLength: 1, maxLength: 3 }).map((b) => [...b]),
);

type Kind = 'v' | 'rep' | 'string' | fc.Arbitrary<number[]>;

/** A message of the given schema: mostly well-typed fields, unpacked and packed, some noise. */
function messageArb(schema: Record<number, Kind>, maxFields: number): fc.Arbitrary<number[]> {
  const fields = Object.entries(schema).map(([k, kind]) => {
    const f = Number(k);
    if (kind === 'v') return valueArb.map((v) => wire.v(f, v));
    if (kind === 'string')
      return fc.string({ unit: 'grapheme', maxLength: 12 }).map((s) => wire.str(f, s));
    if (kind === 'rep') {
      return fc.oneof(
        valueArb.map((v) => wire.v(f, v)),
        fc.array(valueArb, { maxLength: 6 }).map((vs) => wire.packed(f, vs)),
      );
    }
    return kind.map((body) => wire.len(f, body));
  });
  const field = fc.oneof(
    { weight: 12, arbitrary: fc.oneof(...fields) },
    { weight: 1, arbitrary: noiseArb },
  );
  return fc.array(field, { maxLength: maxFields }).map((fs) => fs.flat());
}

const vs = (n: number): Record<number, Kind> =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [i + 1, 'v' as Kind]));
const valueType = messageArb(vs(2), 3);
const label = messageArb(vs(4), 5);
const line = messageArb(vs(3), 4);
const profileFieldsArb = messageArb(
  {
    1: valueType,
    2: messageArb({ 1: 'rep', 2: 'rep', 3: label }, 6),
    3: messageArb(vs(10), 12),
    4: messageArb({ 1: 'v', 2: 'v', 3: 'v', 4: line, 5: 'v' }, 6),
    5: messageArb(vs(5), 6),
    6: 'string',
    7: 'v',
    8: 'v',
    9: 'v',
    10: 'v',
    11: valueType,
    12: 'v',
    13: 'rep',
    14: 'v',
    15: 'v',
  },
  30,
);

describe('decodePprof fuzzing: decodes or throws PprofDecodeError, nothing else', () => {
  it('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (b) => checkContract(b)),
      { numRuns: 3000 },
    );
  });

  it('random protobuf built from profile.proto-like fields', () => {
    fc.assert(
      fc.property(profileFieldsArb, (b) => checkContract(new Uint8Array(b))),
      { numRuns: 2000 },
    );
  });

  it('real profiles with bit flips, byte overwrites, truncation, insertion and deletion', () => {
    const mutation = fc.oneof(
      fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
      fc.record({
        op: fc.constant('set' as const),
        at: fc.nat(),
        byte: fc.integer({ min: 0, max: 255 }),
      }),
      fc.record({ op: fc.constant('cut' as const), at: fc.nat() }),
      fc.record({
        op: fc.constant('insert' as const),
        at: fc.nat(),
        bytes: fc.uint8Array({ minLength: 1, maxLength: 11 }),
      }),
      fc.record({
        op: fc.constant('delete' as const),
        at: fc.nat(),
        n: fc.integer({ min: 1, max: 10 }),
      }),
    );
    fc.assert(
      fc.property(
        fc.nat(seeds.length - 1),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        (seed, mutations) => {
          let b = Uint8Array.from(seeds[seed]);
          for (const m of mutations) {
            const at = m.at % Math.max(1, b.length);
            switch (m.op) {
              case 'flip':
                if (b.length) b[at] ^= 1 << m.bit;
                break;
              case 'set':
                if (b.length) b[at] = m.byte;
                break;
              case 'cut':
                b = b.subarray(0, at);
                break;
              case 'insert':
                b = new Uint8Array([...b.subarray(0, at), ...m.bytes, ...b.subarray(at)]);
                break;
              case 'delete':
                b = new Uint8Array([...b.subarray(0, at), ...b.subarray(at + m.n)]);
                break;
            }
          }
          checkContract(b);
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('every truncation of a real profile is refused as truncated or decodes a prefix', () => {
    const b = seeds[0];
    for (let cut = 0; cut < b.length; cut++) {
      try {
        decodePprof(b.subarray(0, cut));
      } catch (e) {
        assert.ok(e instanceof PprofDecodeError, String(e));
        assert.equal(e.kind, 'truncated', `cut at ${cut}: ${e.message}`);
      }
    }
  });

  it('hostile lengths and varints in every message do not escape as other errors', () => {
    const hostile = [
      varint(-1n),
      varint(0xffffffffn),
      varint(1n << 62n),
      [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
      [0x80],
    ];
    for (const h of hostile) {
      for (let field = 1; field <= 16; field++) {
        for (const wt of [0, 2]) {
          const inner = [...wire.tag(field, wt), ...h];
          checkContract(new Uint8Array(inner));
          for (const outer of [1, 2, 3, 4, 5, 11]) {
            checkContract(new Uint8Array(wire.len(outer, inner)));
            checkContract(new Uint8Array(wire.len(4, wire.len(4, inner))));
            checkContract(new Uint8Array(wire.len(2, wire.len(3, inner))));
          }
        }
      }
    }
  });
});
