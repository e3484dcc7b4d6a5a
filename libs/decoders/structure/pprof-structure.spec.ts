import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fixturePath } from '../../../test/support/paths.js';
import { PPROF_FIELDS, ProfileBuilder, decodePprofFlat, encodePprof } from '../../model/index.js';
import { decodePprofBytesFlat, inflatePprof } from '../pprof/pprof-bytes.js';
import { validateFlatProfile } from '../validate.js';
import { defaultLimits } from '../decoder.js';
import {
  UploadStructureError,
  invalidUtf8At,
  scanPprofStructure,
  type PprofStructure,
  type PprofStructureOptions,
} from './pprof-structure.js';

// The ingest-time structural scan of pprof bytes (ADR 0013): it refuses what Pyroscope's
// ValidateProfile / validateStringTableAccess (pkg/validation/validate.go) and the proto
// unmarshal refuse, and never an upload Pyroscope accepts.

const dir = fixturePath('pyroscope', 'pprof');
const inflated = (name: string): Uint8Array =>
  inflatePprof(readFileSync(`${dir}/${name}`), 64 << 20);
const REFUSED = new Set(['invalid_utf8.pb.gz', 'dotnet-pprof-3.pb.gz']);
const PPROFS = readdirSync(dir).filter((f) => !f.endsWith('.json'));

const refuses = (buf: Uint8Array, message: string | RegExp, dotnet = false): void => {
  assert.throws(
    () => scanPprofStructure(buf, { dotnetFunctionIdFix: dotnet }),
    (err: unknown) => {
      assert.ok(err instanceof UploadStructureError, String(err));
      if (typeof message === 'string') assert.equal(err.message, message);
      else assert.match(err.message, message);
      return true;
    },
  );
};

describe('pprof structural scan', () => {
  it('accepts every pprof fixture Pyroscope accepts, with the decoder’s counts', () => {
    for (const f of PPROFS) {
      if (REFUSED.has(f)) continue;
      const raw = inflated(f);
      const s = scanPprofStructure(raw);
      const p = decodePprofBytesFlat(raw, { maxDecompressedBytes: 0, maxSamples: 0 });
      assert.equal(s.samples, p.samples.count, f);
      assert.equal(s.strings, p.stringTable.length, f);
      assert.equal(s.functions, p.functions.count, f);
    }
  });

  it('invalid_utf8.pb.gz: Pyroscope’s message (422 on /ingest, 400 on Push)', () => {
    refuses(inflated('invalid_utf8.pb.gz'), /^invalid utf8 string hex: [0-9a-f]+$/);
  });

  it('dotnet-pprof-3.pb.gz: function id 0 is refused, unless the .NET fix renumbers them', () => {
    refuses(inflated('dotnet-pprof-3.pb.gz'), 'function id is 0');
    assert.ok(scanPprofStructure(inflated('dotnet-pprof-3.pb.gz'), { dotnetFunctionIdFix: true }));
  });

  it('truncated data: every proper prefix of a profile is refused or a shorter profile', () => {
    const raw = inflated('cpu.pb.gz');
    refuses(raw.subarray(0, raw.length - 1), 'unexpected EOF');
    refuses(raw.subarray(0, 3), /unexpected EOF|string 0/);
  });

  it('wire format errors: illegal tags, groups, overlong varints', () => {
    refuses(Uint8Array.from([0x00, 0x00]), 'proto: Profile: illegal tag 0 (wire type 0)');
    refuses(Uint8Array.from([0x0c]), 'proto: Profile: wiretype end group for non-group');
    refuses(Uint8Array.from([0xa3, 0x01]), 'proto: Profile: illegal wireType 3');
    refuses(Uint8Array.from([0x0b]), 'proto: wrong wireType = 3 for field SampleType');
    // a tag wider than 32 bits (the decoder refuses it): field number int32(tag >> 3), as Go
    refuses(
      Uint8Array.from([0xf8, 0xff, 0xff, 0xff, 0x7f]),
      'proto: Profile: illegal tag -1 (wire type 0)',
    );
    refuses(
      Uint8Array.from([0x88, 0x80, 0x80, 0x80, 0x80, 0x01]),
      'proto: Profile: tag wider than 32 bits',
    );
    refuses(Uint8Array.from([0x48, ...new Array(10).fill(0xff), 0x01]), 'proto: integer overflow');
  });

  it('ids and string indices in range', () => {
    const base = (): ProfileBuilder =>
      new ProfileBuilder().sampleType('cpu', 'nanoseconds').stack(['main', 'f'], [1]);
    assert.ok(scanPprofStructure(encodePprof(base().build())));
    const zeroLoc = base().build();
    zeroLoc.location[0].id = 0;
    refuses(encodePprof(zeroLoc), 'location id is 0');
    const badIndex = base().build();
    badIndex.function[0].name = 999;
    refuses(encodePprof(badIndex), 'function string index out of range');
    const badType = base().build();
    badType.sampleType[0].type = 999;
    refuses(encodePprof(badType), 'sample type type string index out of range');
    const firstNotEmpty = base().build();
    firstNotEmpty.stringTable[0] = 'x';
    refuses(encodePprof(firstNotEmpty), 'string 0 should be empty string');
  });

  it('UTF-8 as Go’s utf8.ValidString: overlongs, surrogates and > U+10FFFF are invalid', () => {
    const bad = [[0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0x80]];
    for (const b of bad) assert.equal(invalidUtf8At(Uint8Array.from(b), 0, b.length), 0, String(b));
    const good = new TextEncoder().encode('aé€😀');
    assert.equal(invalidUtf8At(good, 0, good.length), -1);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), (b) => {
        const valid = (() => {
          try {
            new TextDecoder('utf-8', { fatal: true }).decode(b);
            return true;
          } catch {
            return false;
          }
        })();
        assert.equal(invalidUtf8At(b, 0, b.length) < 0, valid);
      }),
      { numRuns: 5000 },
    );
  });

  // Regression (issue 15 item 7): a known field sent with the wrong wire type passed the scan
  // and was refused by the decoder only (`field 3 has wrong wire type 5`), while Go's
  // unmarshal, so Pyroscope, refuses it at once. Every known field of every message the scan
  // walks, with every wire type it does not take: refused by the scan and by the decoder, with
  // Go's message. The profile around it is valid (accepted by both without the field).
  describe('wrong wire type accepted by the scan', () => {
    for (const message of Object.keys(PPROF_FIELDS) as (keyof typeof PPROF_FIELDS)[]) {
      it(`${message}: every known field with a wrong wire type is refused with Go's message`, () => {
        const names = PPROF_FIELDS[message];
        let refused = 0;
        for (let field = 1; field < names.length; field++)
          for (const wire of [0, 1, 2, 3, 5, 6, 7]) {
            if (REFERENCE_WIRES[message][field - 1].includes(wire)) continue;
            const buf = wireProfile({ [message]: field_(field, wire) });
            const want = `proto: wrong wireType = ${wire} for field ${names[field]}`;
            refuses(buf, want);
            assert.throws(
              () => decodePprofFlat(buf),
              (e: unknown) => e instanceof Error && e.message.startsWith(`${want} (at byte `),
              `${message}.${names[field]} wire ${wire}: the decoder's message`,
            );
            refused++;
          }
        assert.ok(refused >= names.length - 1, `${refused} cases`);
        // the same profile without the stray field: accepted by both
        const ok = wireProfile({});
        assert.equal(scanPprofStructure(ok).samples, 1);
        assert.equal(decodePprofFlat(ok).samples.count, 1);
      });
    }

    it('unknown fields are skipped whatever their wire type, in every message', () => {
      for (const message of Object.keys(PPROF_FIELDS) as (keyof typeof PPROF_FIELDS)[])
        for (const wire of [0, 1, 2, 5]) {
          const buf = wireProfile({ [message]: field_(PPROF_FIELDS[message].length + 3, wire) });
          assert.equal(scanPprofStructure(buf).samples, 1, `${message} wire ${wire}`);
          assert.equal(decodePprofFlat(buf).samples.count, 1, `${message} wire ${wire}`);
        }
    });

    it('repeated scalars packed or one varint each, as Go accepts them', () => {
      const unpacked = wireProfile({ unpacked: true });
      const s = scanPprofStructure(unpacked);
      const p = decodePprofFlat(unpacked);
      assert.equal(s.samples, 1);
      assert.deepEqual([...p.samples.val.v.subarray(0, 2)], [7, 9]);
      assert.deepEqual(p.comment, [1, 2]);
      // a packed run cut inside its last varint stays truncated
      refuses(Uint8Array.from([0x6a, 0x01, 0x80]), 'unexpected EOF');
    });

    it('a field the scan reads (an id, an index) with a wrong wire type is not taken as a value', () => {
      // Location.id as fixed32: refused for its wire type, not for "location id is 0"
      refuses(wireProfile({ Location: field_(1, 5) }), 'proto: wrong wireType = 5 for field Id');
      refuses(wireProfile({ Sample: field_(3, 0) }), 'proto: wrong wireType = 0 for field Label');
      refuses(
        wireProfile({ Profile: field_(6, 0) }),
        'proto: wrong wireType = 0 for field StringTable',
      );
    });
  });

  // Fuzz: random bytes and mutations of real profiles. The scan never throws anything but
  // UploadStructureError, and whatever it accepts the decoder decodes and validates (so the
  // scan never lets through what it promises to catch); whatever the decoder refuses for the
  // reasons the scan covers, the scan refuses too.
  // The scan was rewritten for speed (ADR 0013, Cost); the first version is kept below as an
  // oracle: same counts, or the same refusal with the same message, on every input.
  it('fuzz: the scan gives its reference version’s verdict and message', () => {
    const verdict = (scan: typeof scanPprofStructure, buf: Uint8Array, dotnet: boolean): string => {
      try {
        return JSON.stringify(scan(buf, { dotnetFunctionIdFix: dotnet }));
      } catch (err) {
        assert.ok(err instanceof UploadStructureError, String(err));
        return `${err.kind}: ${err.message}`;
      }
    };
    fc.assert(
      fc.property(fuzzInput(), fc.boolean(), (buf, dotnet) => {
        assert.equal(verdict(scanPprofStructure, buf, dotnet), verdict(referenceScan, buf, dotnet));
      }),
      { numRuns: 2000, seed: 20261202 },
    );
    // and the cases the arbitrary rarely builds: cut packed runs, long varints, empty strings
    const raw = inflated('heap.pb.gz');
    for (let cut = 0; cut <= raw.length; cut += 97)
      for (const dotnet of [false, true])
        assert.equal(
          verdict(scanPprofStructure, raw.subarray(0, cut), dotnet),
          verdict(referenceScan, raw.subarray(0, cut), dotnet),
          `cut at ${cut}`,
        );
  });

  it('packed runs read a word at a time: same verdicts as byte by byte', () => {
    const verdict = (scan: typeof scanPprofStructure, buf: Uint8Array): string => {
      try {
        return JSON.stringify(scan(buf));
      } catch (err) {
        assert.ok(err instanceof UploadStructureError, String(err));
        return `${err.kind}: ${err.message}`;
      }
    };
    const high = (k: number): number[] => new Array<number>(k).fill(0x81);
    const runs: number[][] = [
      [],
      [1],
      [...high(3), 1],
      [...high(4), 1, 2, 3],
      [...high(9), 1, 5],
      [1, ...high(10), 1],
      [2, 3, ...high(10)],
      [1, 2, 3, 0x81],
      [1, 2, 3, 4, 0x81],
      [...high(200)],
      [...high(9), 1, ...high(9), 1, ...high(9), 1],
    ];
    for (const run of runs)
      for (const field of [1, 2])
        for (const long of [false, true]) {
          // the run as a sample's location ids or values, with a one-byte or a two-byte length
          const lenBytes = long ? [(run.length & 0x7f) | 0x80, run.length >> 7] : wv(run.length);
          const sample = [field * 8 + 2, ...lenBytes, ...run];
          const buf = Uint8Array.from([...fl(2, sample), ...fl(6, [])]);
          assert.equal(
            verdict(scanPprofStructure, buf),
            verdict(referenceScan, buf),
            `${String(run)} field ${field}`,
          );
        }
  });

  it('fuzz: never a foreign error; what it accepts decodes', () => {
    const input = fuzzInput();
    fc.assert(
      fc.property(input, (buf) => {
        let accepted = true;
        try {
          scanPprofStructure(buf);
        } catch (err) {
          assert.ok(err instanceof UploadStructureError, String(err));
          accepted = false;
        }
        if (!accepted || buf.length === 0) return;
        const p = decodePprofBytesFlat(buf.length < 10 ? buf : buf, {
          maxDecompressedBytes: 0,
          maxSamples: 0,
        });
        if (p.sampleType.length > 0) validateCovered(p);
      }),
      { numRuns: 3000, seed: 20261202 },
    );
  });
});

// A small valid profile written field by field, so that a stray field can be put at the front
// of any one message: `extra[Message]` is prepended to that message's bytes.
const wv = (n: number): number[] => {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
};
const fv = (field: number, value: number): number[] => [...wv(field * 8), ...wv(value)];
const fl = (field: number, body: number[]): number[] => [
  ...wv(field * 8 + 2),
  ...wv(body.length),
  ...body,
];
/** a field of `wire` type with a small value of that type (3, 6, 7: nothing after the tag) */
function field_(field: number, wire: number): number[] {
  const tag = wv(field * 8 + wire);
  if (wire === 0) return [...tag, 1];
  if (wire === 1) return [...tag, 1, 2, 3, 4, 5, 6, 7, 8];
  if (wire === 2) return [...tag, 1, 0];
  if (wire === 5) return [...tag, 1, 2, 3, 4];
  return tag;
}
type Extra = Partial<Record<keyof typeof PPROF_FIELDS, number[]>> & { unpacked?: boolean };
function wireProfile(extra: Extra): Uint8Array {
  const x = (m: keyof typeof PPROF_FIELDS): number[] => extra[m] ?? [];
  const valueType = [...x('ValueType'), ...fv(1, 1), ...fv(2, 2)];
  const label = [...x('Label'), ...fv(1, 1), ...fv(2, 2)];
  const sample = extra.unpacked
    ? [...x('Sample'), ...fv(1, 1), ...fv(2, 7), ...fv(2, 9), ...fl(3, label)]
    : [...x('Sample'), ...fl(1, [1]), ...fl(2, [7, 9]), ...fl(3, label)];
  const mapping = [...x('Mapping'), ...fv(1, 1), ...fv(5, 3)];
  const line = [...x('Line'), ...fv(1, 1), ...fv(2, 12)];
  const location = [...x('Location'), ...fv(1, 1), ...fv(2, 1), ...fl(4, line)];
  const fn = [...x('Function'), ...fv(1, 1), ...fv(2, 3)];
  const str = (t: string): number[] => fl(6, [...new TextEncoder().encode(t)]);
  const comment = extra.unpacked ? [...fv(13, 1), ...fv(13, 2)] : fl(13, [1, 2]);
  return Uint8Array.from([
    ...x('Profile'),
    ...fl(1, valueType),
    ...fl(1, [...fv(1, 1), ...fv(2, 2)]),
    ...fl(2, sample),
    ...fl(3, mapping),
    ...fl(4, location),
    ...fl(5, fn),
    ...str(''),
    ...str('cpu'),
    ...str('ns'),
    ...str('main'),
    ...fv(9, 1000),
    ...fl(11, valueType),
    ...fv(12, 10),
    ...comment,
  ]);
}

/** random bytes, and real profiles with a few bytes changed and perhaps cut */
function fuzzInput(): fc.Arbitrary<Uint8Array> {
  const seeds = ['cpu.pb.gz', 'heap.pb.gz', 'cpu-js.pb.gz', 'profile_python'].map(inflated);
  return fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc
      .tuple(
        fc.constantFrom(...seeds),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        fc.option(fc.nat()),
      )
      .map(([seed, flips, cut]) => {
        const b = Uint8Array.from(seed);
        for (const [at, v] of flips) b[at % b.length] = v;
        return cut === null ? b : b.subarray(0, cut % (b.length + 1));
      }),
  );
}

/** validateFlatProfile, keeping only the failures the scan is meant to catch */
function validateCovered(p: ReturnType<typeof decodePprofBytesFlat>): void {
  try {
    validateFlatProfile(p, { ...defaultLimits, maxSamples: 0 });
  } catch (err) {
    const m = (err as Error).message;
    const covered =
      /utf8|function id is 0|location id is 0|string 0 should|string index out of range/.test(m);
    assert.ok(!covered, `the scan accepted what validation refuses: ${m}`);
  }
}

const truncated = (): UploadStructureError =>
  new UploadStructureError('truncated', 'unexpected EOF');
// The oracle's own statement of profile.proto's wire types (0 varint, 2 length-delimited), by
// message and field number from 1: written apart from the scan's masks so that a slip in one
// shows as a disagreement.
const REFERENCE_WIRES: Record<keyof typeof PPROF_FIELDS, number[][]> = {
  Profile: [[2], [2], [2], [2], [2], [2], [0], [0], [0], [0], [2], [0], [0, 2], [0], [0]],
  ValueType: [[0], [0]],
  Sample: [[0, 2], [0, 2], [2]],
  Label: [[0], [0], [0], [0]],
  Mapping: [[0], [0], [0], [0], [0], [0], [0], [0], [0], [0]],
  Location: [[0], [0], [0], [2], [0]],
  Line: [[0], [0], [0]],
  Function: [[0], [0], [0], [0], [0]],
};
const P_SAMPLE_TYPE = 1;
const P_SAMPLE = 2;
const P_MAPPING = 3;
const P_LOCATION = 4;
const P_FUNCTION = 5;
const P_STRING = 6;
const P_TIME_NANOS = 9;
const P_PERIOD_TYPE = 11;
const hex = (buf: Uint8Array, from: number, to: number): string =>
  Buffer.from(buf.subarray(from, to)).toString('hex');

/**
 * The first version of the scan (closures over one position), kept as the fuzz's oracle: the
 * faster scan must give the same verdict and message on every input.
 */
function referenceScan(buf: Uint8Array, options: PprofStructureOptions = {}): PprofStructure {
  const out: PprofStructure = { timeNanos: 0, strings: 0, samples: 0, locations: 0, functions: 0 };
  if (buf.length === 0) return out;
  let pos = 0;
  // the largest string index referenced, by where it was referenced (checked at the end: the
  // string table may come anywhere in the message)
  let maxSampleType = -1;
  let maxLabel = -1;
  let maxFunction = -1;
  let maxMapping = -1;
  let firstStringEmpty = false;
  let zeroFunctionIds = 0;

  // varint at pos; values above 2^53 lose precision but only their zero-ness and range
  // against the string count matter, and both survive
  const varint = (end: number): number => {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) throw truncated();
      const b = buf[pos++];
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    throw new UploadStructureError('malformed', 'proto: integer overflow');
  };
  const length = (end: number): number => {
    const n = varint(end);
    if (pos + n > end) throw truncated();
    return n;
  };
  /** skips a field's value of `wire` type; groups and unknown wire types are refused */
  const skip = (wire: number, end: number, message: string): void => {
    switch (wire) {
      case 0:
        varint(end);
        return;
      case 1:
        if (pos + 8 > end) throw truncated();
        pos += 8;
        return;
      case 2: {
        // `pos += length(end)` would add to the position before the length's varint
        const n = length(end);
        pos += n;
        return;
      }
      case 5:
        if (pos + 4 > end) throw truncated();
        pos += 4;
        return;
      case 4:
        throw new UploadStructureError(
          'malformed',
          `proto: ${message}: wiretype end group for non-group`,
        );
      default:
        throw new UploadStructureError('malformed', `proto: ${message}: illegal wireType ${wire}`);
    }
  };
  const tag = (end: number, message: string): [field: number, wire: number] => {
    const t = varint(end);
    const field = Math.floor(t / 8);
    const wire = t % 8;
    const goField = t >= 2 ** 32 ? (field % 2 ** 32) | 0 : field;
    if (goField <= 0)
      throw new UploadStructureError(
        'malformed',
        `proto: ${message}: illegal tag ${goField} (wire type ${wire})`,
      );
    if (t >= 2 ** 32)
      throw new UploadStructureError('malformed', `proto: ${message}: tag wider than 32 bits`);
    return [field, wire];
  };
  /** a varint field, or a packed run of them */
  const varints = (wire: number, end: number, message: string): void => {
    if (wire === 0) {
      varint(end);
      return;
    }
    if (wire !== 2) {
      skip(wire, end, message);
      return;
    }
    const n = length(end);
    const stop = pos + n;
    while (pos < stop) varint(stop);
  };
  /** added with the wire-type check: a tag read by `tag` checked against REFERENCE_WIRES */
  const checked = (message: keyof typeof REFERENCE_WIRES, end: number): [number, number] => {
    const [f, w] = tag(end, message);
    const allowed = REFERENCE_WIRES[message][f - 1];
    if (allowed !== undefined && w !== 4 && !allowed.includes(w))
      throw new UploadStructureError(
        'malformed',
        `proto: wrong wireType = ${w} for field ${PPROF_FIELDS[message][f]}`,
      );
    return [f, w];
  };

  const valueType = (end: number): void => {
    while (pos < end) {
      const [f, w] = checked('ValueType', end);
      if (f === 1 && w === 0) maxSampleType = Math.max(maxSampleType, varint(end));
      else skip(w, end, 'ValueType');
    }
  };
  const label = (end: number): void => {
    while (pos < end) {
      const [f, w] = checked('Label', end);
      if ((f === 1 || f === 2) && w === 0) maxLabel = Math.max(maxLabel, varint(end));
      else skip(w, end, 'Label');
    }
  };
  const sample = (end: number): void => {
    while (pos < end) {
      const [f, w] = checked('Sample', end);
      if (f === 1 || f === 2) varints(w, end, 'Sample');
      else if (f === 3 && w === 2) {
        const n = length(end);
        label(pos + n);
      } else skip(w, end, 'Sample');
    }
  };
  const mapping = (end: number): void => {
    while (pos < end) {
      const [f, w] = checked('Mapping', end);
      if ((f === 5 || f === 6) && w === 0) maxMapping = Math.max(maxMapping, varint(end));
      else skip(w, end, 'Mapping');
    }
  };
  const line = (end: number): void => {
    while (pos < end) {
      const [, w] = checked('Line', end);
      skip(w, end, 'Line');
    }
  };
  const location = (end: number): void => {
    let id = 0;
    while (pos < end) {
      const [f, w] = checked('Location', end);
      if (f === 1 && w === 0) id = varint(end);
      else if (f === 4 && w === 2) {
        const n = length(end);
        line(pos + n);
      } else skip(w, end, 'Location');
    }
    if (id === 0) throw new UploadStructureError('invalid_profile', 'location id is 0');
  };
  const fn = (end: number): void => {
    let id = 0;
    while (pos < end) {
      const [f, w] = checked('Function', end);
      if (f === 1 && w === 0) id = varint(end);
      else if (f >= 2 && f <= 4 && w === 0) maxFunction = Math.max(maxFunction, varint(end));
      else skip(w, end, 'Function');
    }
    if (id === 0) zeroFunctionIds++;
  };

  const end = buf.length;
  while (pos < end) {
    const [f, w] = checked('Profile', end);
    if (f === P_TIME_NANOS && w === 0) {
      out.timeNanos = varint(end);
      continue;
    }
    if (f === 13) {
      varints(w, end, 'Profile');
      continue;
    }
    if (
      w !== 2 ||
      (f !== P_SAMPLE_TYPE &&
        f !== P_SAMPLE &&
        f !== P_MAPPING &&
        f !== P_LOCATION &&
        f !== P_FUNCTION &&
        f !== P_STRING &&
        f !== P_PERIOD_TYPE)
    ) {
      skip(w, end, 'Profile');
      continue;
    }
    const n = length(end);
    const stop = pos + n;
    switch (f) {
      case P_SAMPLE_TYPE:
        valueType(stop);
        break;
      case P_PERIOD_TYPE:
        // the period type's strings are not checked by Pyroscope; its structure is
        while (pos < stop) skip(checked('ValueType', stop)[1], stop, 'ValueType');
        break;
      case P_SAMPLE:
        sample(stop);
        out.samples++;
        break;
      case P_MAPPING:
        mapping(stop);
        break;
      case P_LOCATION:
        location(stop);
        out.locations++;
        break;
      case P_FUNCTION:
        fn(stop);
        out.functions++;
        break;
      case P_STRING: {
        if (out.strings === 0) firstStringEmpty = n === 0;
        const bad = invalidUtf8At(buf, pos, stop);
        if (bad >= 0)
          throw new UploadStructureError(
            'invalid_utf8',
            `invalid utf8 string hex: ${hex(buf, pos, stop)}`,
          );
        out.strings++;
        pos = stop;
        break;
      }
    }
    if (pos !== stop) throw truncated();
  }
  if (
    zeroFunctionIds > 0 &&
    !(
      options.dotnetFunctionIdFix &&
      zeroFunctionIds === out.functions &&
      out.functions === out.locations
    )
  )
    throw new UploadStructureError('invalid_profile', 'function id is 0');
  // Pyroscope's validateStringTableAccess, in its order
  const n = out.strings;
  if (n === 0 || !firstStringEmpty)
    throw new UploadStructureError('invalid_profile', 'string 0 should be empty string');
  if (maxSampleType >= n)
    throw new UploadStructureError('invalid_profile', 'sample type type string index out of range');
  if (maxLabel >= n)
    throw new UploadStructureError('invalid_profile', 'sample label string index out of range');
  if (maxFunction >= n)
    throw new UploadStructureError('invalid_profile', 'function string index out of range');
  if (maxMapping >= n)
    throw new UploadStructureError('invalid_profile', 'mapping string index out of range');
  return out;
}
