import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fixturePath } from '../../../test/support/paths.js';
import { ProfileBuilder, encodePprof } from '../../model/index.js';
import { decodePprofBytesFlat, inflatePprof } from '../pprof/pprof-bytes.js';
import { validateFlatProfile } from '../validate.js';
import { defaultLimits } from '../decoder.js';
import { UploadStructureError, invalidUtf8At, scanPprofStructure } from './pprof-structure.js';

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
  it('fuzz: never a foreign error; what it accepts decodes', () => {
    const seeds = ['cpu.pb.gz', 'heap.pb.gz', 'cpu-js.pb.gz', 'profile_python'].map(inflated);
    const input = fc.oneof(
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
