import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fixturePath } from '../../../test/support/paths.js';
import { ProfileBuilder, encodePprof } from '../../model/index.js';
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
    refuses(Uint8Array.from([0x0b]), 'proto: Profile: illegal wireType 3');
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
      { numRuns: 400, seed: 20261202 },
    );
  });
});

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
    if (field <= 0)
      throw new UploadStructureError(
        'malformed',
        `proto: ${message}: illegal tag ${field} (wire type ${wire})`,
      );
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

  const valueType = (end: number): void => {
    while (pos < end) {
      const [f, w] = tag(end, 'ValueType');
      if (f === 1 && w === 0) maxSampleType = Math.max(maxSampleType, varint(end));
      else skip(w, end, 'ValueType');
    }
  };
  const label = (end: number): void => {
    while (pos < end) {
      const [f, w] = tag(end, 'Label');
      if ((f === 1 || f === 2) && w === 0) maxLabel = Math.max(maxLabel, varint(end));
      else skip(w, end, 'Label');
    }
  };
  const sample = (end: number): void => {
    while (pos < end) {
      const [f, w] = tag(end, 'Sample');
      if (f === 1 || f === 2) varints(w, end, 'Sample');
      else if (f === 3 && w === 2) {
        const n = length(end);
        label(pos + n);
      } else skip(w, end, 'Sample');
    }
  };
  const mapping = (end: number): void => {
    while (pos < end) {
      const [f, w] = tag(end, 'Mapping');
      if ((f === 5 || f === 6) && w === 0) maxMapping = Math.max(maxMapping, varint(end));
      else skip(w, end, 'Mapping');
    }
  };
  const line = (end: number): void => {
    while (pos < end) {
      const [, w] = tag(end, 'Line');
      skip(w, end, 'Line');
    }
  };
  const location = (end: number): void => {
    let id = 0;
    while (pos < end) {
      const [f, w] = tag(end, 'Location');
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
      const [f, w] = tag(end, 'Function');
      if (f === 1 && w === 0) id = varint(end);
      else if (f >= 2 && f <= 4 && w === 0) maxFunction = Math.max(maxFunction, varint(end));
      else skip(w, end, 'Function');
    }
    if (id === 0) zeroFunctionIds++;
  };

  const end = buf.length;
  while (pos < end) {
    const [f, w] = tag(end, 'Profile');
    if (f === P_TIME_NANOS && w === 0) {
      out.timeNanos = varint(end);
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
        while (pos < stop) skip(tag(stop, 'ValueType')[1], stop, 'ValueType');
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
