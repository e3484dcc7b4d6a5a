import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Profile as PprofFormatProfile } from 'pprof-format';
import { emptyProfile } from '../profile.js';
import type { Profile } from '../profile.js';
import { PprofDecodeError } from './errors.js';
import { decodePprof } from './profile-reader.js';
import { bytes, normaliseOurs, normaliseTheirs, wire } from './testing.js';

const { v, len, str, packed, fixed32, fixed64, tag } = wire;

function throwsKind(fn: () => unknown, kind: string, message?: RegExp): PprofDecodeError {
  let err: PprofDecodeError | undefined;
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof PprofDecodeError, `expected PprofDecodeError, got ${String(e)}`);
    assert.equal(e.kind, kind);
    if (message) assert.match(e.message, message);
    err = e;
    return true;
  });
  return err as PprofDecodeError;
}

/** A small profile touching every field, encoded field by field. */
function everyField(): number[][] {
  return [
    len(1, [...v(1, 1), ...v(2, 2)]),
    len(2, [
      ...packed(1, [1, 2]),
      ...packed(2, [10, -20]),
      ...len(3, [...v(1, 3), ...v(2, 4)]),
      ...len(3, [...v(1, 3), ...v(3, -7), ...v(4, 2)]),
    ]),
    len(3, [
      ...v(1, 1),
      ...v(2, 0x400000),
      ...v(3, 0xffffffff81000000n),
      ...v(4, 4096),
      ...v(5, 5),
      ...v(6, 6),
      ...v(7, 1),
      ...v(8, 1),
      ...v(9, 1),
      ...v(10, 1),
    ]),
    len(4, [
      ...v(1, 1),
      ...v(2, 1),
      ...v(3, 0x401000),
      ...len(4, [...v(1, 1), ...v(2, 42), ...v(3, 7)]),
      ...len(4, [...v(1, 2), ...v(2, -1)]),
      ...v(5, 1),
    ]),
    len(4, [...v(1, 2), ...len(4, [...v(1, 2)])]),
    len(5, [...v(1, 1), ...v(2, 5), ...v(3, 6), ...v(4, 3), ...v(5, 10)]),
    len(5, [...v(1, 2), ...v(2, 4), ...v(5, -3)]),
    str(6, ''),
    str(6, 'samples'),
    str(6, 'count'),
    str(6, 'key'),
    str(6, 'value'),
    str(6, 'main'),
    str(6, 'main.go'),
    v(7, 4),
    v(8, 5),
    v(9, 1700000000123456789n),
    v(10, 10_000_000_000),
    len(11, [...v(1, 1), ...v(2, 2)]),
    v(12, 10_000_000),
    packed(13, [3, 4]),
    v(14, 1),
    v(15, 6),
  ];
}

const expectedEveryField: Profile = {
  sampleType: [{ type: 1, unit: 2 }],
  sample: [
    {
      locationId: [1, 2],
      value: [10, -20],
      label: [
        { key: 3, str: 4, num: 0, numUnit: 0 },
        { key: 3, str: 0, num: -7, numUnit: 2 },
      ],
    },
  ],
  mapping: [
    {
      id: 1,
      memoryStart: 0x400000,
      memoryLimit: 0xffffffff81000000n,
      fileOffset: 4096,
      filename: 5,
      buildId: 6,
      hasFunctions: true,
      hasFilenames: true,
      hasLineNumbers: true,
      hasInlineFrames: true,
    },
  ],
  location: [
    {
      id: 1,
      mappingId: 1,
      address: 0x401000,
      line: [
        { functionId: 1, line: 42, column: 7 },
        { functionId: 2, line: -1, column: 0 },
      ],
      isFolded: true,
    },
    {
      id: 2,
      mappingId: 0,
      address: 0,
      line: [{ functionId: 2, line: 0, column: 0 }],
      isFolded: false,
    },
  ],
  function: [
    { id: 1, name: 5, systemName: 6, filename: 3, startLine: 10 },
    { id: 2, name: 4, systemName: 0, filename: 0, startLine: -3 },
  ],
  stringTable: ['', 'samples', 'count', 'key', 'value', 'main', 'main.go'],
  dropFrames: 4,
  keepFrames: 5,
  timeNanos: 1700000000123456789n,
  durationNanos: 10_000_000_000,
  periodType: { type: 1, unit: 2 },
  period: 10_000_000,
  comment: [3, 4],
  defaultSampleType: 1,
  docUrl: 6,
};

describe('decodePprof: every field of profile.proto', () => {
  it('decodes a profile that sets every field', () => {
    assert.deepStrictEqual(decodePprof(bytes(...everyField())), expectedEveryField);
  });

  it('agrees with pprof-format on the same bytes', () => {
    const b = bytes(...everyField());
    assert.deepStrictEqual(
      normaliseOurs(decodePprof(b)),
      normaliseTheirs(PprofFormatProfile.decode(Buffer.from(b))),
    );
  });

  it('empty input is an empty profile with an empty string table', () => {
    assert.deepStrictEqual(decodePprof(new Uint8Array(0)), { ...emptyProfile(), stringTable: [] });
  });

  it('doc_url is field 15 (profile.proto), not 19', () => {
    assert.equal(decodePprof(bytes(v(15, 3))).docUrl, 3);
    assert.equal(decodePprof(bytes(v(19, 3))).docUrl, 0);
  });
});

describe('decodePprof: repeated scalars packed and unpacked', () => {
  it('reads unpacked location ids, values and comments', () => {
    const p = decodePprof(
      bytes(len(2, [...v(1, 7), ...v(1, 8), ...v(2, -1), ...v(2, 1n << 60n)]), v(13, 1), v(13, 2)),
    );
    assert.deepStrictEqual(p.sample[0].locationId, [7, 8]);
    assert.deepStrictEqual(p.sample[0].value, [-1, 1n << 60n]);
    assert.deepStrictEqual(p.comment, [1, 2]);
  });

  it('concatenates packed and unpacked runs in wire order', () => {
    const p = decodePprof(
      bytes(
        len(2, [
          ...v(1, 1),
          ...packed(1, [2, 3]),
          ...v(1, 4),
          ...packed(1, [5]),
          ...packed(2, [10]),
          ...v(2, 20),
          ...packed(2, [30, 40]),
        ]),
        packed(13, [1]),
        v(13, 2),
        packed(13, [3, 4]),
      ),
    );
    assert.deepStrictEqual(p.sample[0].locationId, [1, 2, 3, 4, 5]);
    assert.deepStrictEqual(p.sample[0].value, [10, 20, 30, 40]);
    assert.deepStrictEqual(p.comment, [1, 2, 3, 4]);
  });

  it('an empty packed run adds nothing', () => {
    const p = decodePprof(bytes(len(2, [...packed(1, []), ...packed(2, [])])));
    assert.deepStrictEqual(p.sample[0], { locationId: [], value: [], label: [] });
  });

  it('keeps int64 values exact: negatives, 2^53 and beyond, the extremes', () => {
    const values = [
      0,
      -1,
      -(2 ** 31),
      2 ** 31,
      2 ** 32,
      Number.MAX_SAFE_INTEGER,
      -Number.MAX_SAFE_INTEGER,
      2n ** 53n,
      -(2n ** 53n),
      1n << 60n,
      -(1n << 60n),
      (1n << 63n) - 1n,
      -(1n << 63n),
    ];
    const b = bytes(len(2, packed(2, values)), v(9, 1n << 60n), v(10, -5), v(12, -(1n << 63n)));
    const p = decodePprof(b);
    assert.deepStrictEqual(p.sample[0].value, values);
    assert.equal(p.timeNanos, 1n << 60n);
    assert.equal(p.durationNanos, -5);
    assert.equal(p.period, -(1n << 63n));
  });
});

describe('decodePprof: unknown fields', () => {
  const unknowns = (field: number): number[] => [
    ...v(field, 1n << 62n),
    ...fixed64(field + 1),
    ...len(field + 2, [1, 2, 3]),
    ...fixed32(field + 3),
  ];

  it('skips unknown fields of every wire type at every level', () => {
    const b = bytes(
      unknowns(20),
      len(1, [...unknowns(3), ...v(1, 1)]),
      len(2, [...unknowns(4), ...v(1, 1), ...len(3, [...unknowns(5), ...v(1, 2)])]),
      len(3, [...unknowns(11), ...v(1, 1)]),
      len(4, [...unknowns(6), ...v(1, 1), ...len(4, [...unknowns(4), ...v(1, 1)])]),
      len(5, [...unknowns(6), ...v(1, 1)]),
      len(11, [...unknowns(3), ...v(2, 1)]),
      str(6, ''),
      unknowns(1000),
      unknowns(536870000),
    );
    const p = decodePprof(b);
    assert.deepStrictEqual(p.sampleType, [{ type: 1, unit: 0 }]);
    assert.deepStrictEqual(p.sample[0].locationId, [1]);
    assert.deepStrictEqual(p.sample[0].label, [{ key: 2, str: 0, num: 0, numUnit: 0 }]);
    assert.equal(p.mapping[0].id, 1);
    assert.deepStrictEqual(p.location[0].line, [{ functionId: 1, line: 0, column: 0 }]);
    assert.equal(p.function[0].id, 1);
    assert.deepStrictEqual(p.periodType, { type: 0, unit: 1 });
    assert.deepStrictEqual(p.stringTable, ['']);
  });

  it('rejects groups, even in unknown fields', () => {
    throwsKind(() => decodePprof(bytes(tag(20, 3), tag(20, 4))), 'malformed', /group/);
    throwsKind(() => decodePprof(bytes(len(2, tag(9, 4)))), 'malformed', /group/);
  });

  it('rejects wire types 6 and 7', () => {
    throwsKind(() => decodePprof(bytes(tag(20, 6))), 'malformed', /wire type 6/);
    throwsKind(() => decodePprof(bytes(len(4, tag(9, 7)))), 'malformed', /wire type 7/);
  });

  it('rejects a known field with the wrong wire type', () => {
    throwsKind(
      () => decodePprof(bytes(v(2, 1))),
      'malformed',
      /proto: wrong wireType = 0 for field Sample/,
    );
    throwsKind(
      () => decodePprof(bytes(len(9, [1]))),
      'malformed',
      /wrong wireType = 2 for field TimeNanos/,
    );
    throwsKind(
      () => decodePprof(bytes(len(2, fixed32(1)))),
      'malformed',
      /^proto: wrong wireType = 5 for field LocationId \(at byte 3\)$/,
    );
    // a wire type no field takes (3, 6, 7) on a known top-level field: the same message
    // (found by the first pass's skim, which refused it as a group before)
    throwsKind(
      () => decodePprof(bytes(tag(1, 3))),
      'malformed',
      /wrong wireType = 3 for field SampleType/,
    );
    throwsKind(
      () => decodePprof(bytes(tag(6, 7))),
      'malformed',
      /wrong wireType = 7 for field StringTable/,
    );
  });
});

describe('decodePprof: merging and singular fields', () => {
  it('merges a repeated period_type, last value wins per field', () => {
    const p = decodePprof(bytes(len(11, v(1, 3)), len(11, v(2, 4)), len(11, v(1, 5))));
    assert.deepStrictEqual(p.periodType, { type: 5, unit: 4 });
  });

  it('an empty period_type is present (zeros), an absent one is undefined', () => {
    assert.deepStrictEqual(decodePprof(bytes(len(11, []))).periodType, { type: 0, unit: 0 });
    assert.equal(decodePprof(bytes(v(12, 1))).periodType, undefined);
  });

  it('a repeated scalar field keeps the last value', () => {
    assert.equal(decodePprof(bytes(v(9, 1), v(9, 2))).timeNanos, 2);
  });
});

describe('decodePprof: errors', () => {
  it('truncated in a nested message', () => {
    const full = bytes(...everyField());
    for (const cut of [1, 2, 5, 20, full.length - 1]) {
      assert.throws(
        () => decodePprof(full.subarray(0, cut)),
        (e: unknown) => e instanceof PprofDecodeError && e.kind === 'truncated',
        `cut at ${cut}`,
      );
    }
  });

  it('a nested length overrunning its parent is malformed', () => {
    // sample of length 3 whose packed location ids claim 5 bytes
    throwsKind(() => decodePprof(bytes(len(2, [0x0a, 5, 1]), [0, 0, 0, 0])), 'malformed');
  });

  it('invalid UTF-8 in the string table is invalid-utf8 with its offset', () => {
    const b = bytes(str(6, ''), len(6, [0x61, 0xff]));
    const e = throwsKind(() => decodePprof(b), 'invalid-utf8');
    assert.equal(e.offset, 4);
  });

  it('enforces each limit with kind limit and the limit name', () => {
    const b = bytes(...everyField());
    const cases: Array<[string, number]> = [
      ['maxSamples', 0],
      ['maxLocations', 1],
      ['maxFunctions', 1],
      ['maxMappings', 0],
      ['maxStrings', 6],
      ['maxLocationsPerSample', 1],
      ['maxLabelsPerSample', 1],
    ];
    for (const [name, value] of cases) {
      const e = throwsKind(() => decodePprof(b, { [name]: value }), 'limit');
      assert.equal(e.limit, name);
    }
    assert.deepStrictEqual(
      decodePprof(b, {
        maxSamples: 1,
        maxLocations: 2,
        maxFunctions: 2,
        maxMappings: 1,
        maxStrings: 7,
        maxLocationsPerSample: 2,
        maxLabelsPerSample: 2,
      }),
      expectedEveryField,
    );
  });

  it('maxLocationsPerSample counts unpacked ids too', () => {
    const b = bytes(len(2, [...v(1, 1), ...v(1, 2), ...v(1, 3)]));
    throwsKind(() => decodePprof(b, { maxLocationsPerSample: 2 }), 'limit');
  });

  it('an id above 2^53-1 is a limit error', () => {
    const e = throwsKind(() => decodePprof(bytes(len(4, v(1, 2n ** 60n)))), 'limit');
    assert.equal(e.limit, 'safeInteger');
  });
});
