import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { fixturePath } from '../../../test/support/paths.js';
import { scanGzipJfrPrefix, scanJfrStructure } from './jfr-structure.js';
import { UploadStructureError } from './pprof-structure.js';

// The ingest-time scan of JFR recordings (ADR 0013): the chunk chain of an inflated recording,
// and the prefix path that checks a gzipped single-chunk recording from its first bytes and its
// gzip trailer without inflating it. The prefix path may only ever say "checked" for what the
// full scan accepts; whatever it cannot decide it hands back (false), and ingest inflates.

const dir = fixturePath('pyroscope', 'jfr');
const RECORDINGS = readdirSync(dir).filter((f) => f.endsWith('.jfr.gz'));
const gz = (name: string): Buffer => readFileSync(`${dir}/${name}`);
const CAP = 64 << 20;

/** what ingest does with a `jfr` form part: prefix first, else the whole recording */
function fullScanAccepts(raw: Uint8Array): boolean {
  try {
    scanJfrStructure(raw);
    return true;
  } catch (err) {
    assert.ok(err instanceof UploadStructureError, String(err));
    return false;
  }
}

const chunkCount = (raw: Uint8Array): number => scanJfrStructure(raw).chunks;

describe('JFR structural scan', () => {
  it('every fixture: the chain is whole; single-chunk ones are checked from the prefix', () => {
    let prefixed = 0;
    for (const f of RECORDINGS) {
      const part = gz(f);
      const raw = gunzipSync(part);
      const chunks = chunkCount(raw);
      assert.ok(chunks >= 1, f);
      // one chunk of the trailer's length: decided from the prefix; several: left to the caller
      assert.equal(scanGzipJfrPrefix(part, CAP), chunks === 1, f);
      if (chunks === 1) prefixed++;
    }
    assert.ok(prefixed >= 10, `only ${prefixed} single-chunk fixtures`);
    assert.ok(chunkCount(gunzipSync(gz('FastSlow_2024_01_16_180855.jfr.gz'))) > 1);
  });

  it('refuses a broken magic, a truncated chunk and an empty recording with the decoder’s words', () => {
    const raw = gunzipSync(gz('cortex-dev-01__kafka-0__cpu__0.jfr.gz'));
    const bad = Buffer.from(raw);
    bad[0] = 0x58;
    assert.throws(() => scanJfrStructure(bad), /jfr: invalid chunk magic/);
    assert.throws(
      () => scanJfrStructure(raw.subarray(0, raw.length - 100)),
      /unexpected end of chunk/,
    );
    assert.throws(() => scanJfrStructure(new Uint8Array(0)), /unexpected end of chunk header/);
    // the prefix path decides none of these: the full scan gives the message
    assert.equal(scanGzipJfrPrefix(gzipSync(bad), CAP), false);
    assert.equal(scanGzipJfrPrefix(gzipSync(raw.subarray(0, raw.length - 100)), CAP), false);
    // a chunk followed by more bytes than a header: the trailer's length is not the chunk's
    assert.equal(
      scanGzipJfrPrefix(gzipSync(Buffer.concat([raw, raw.subarray(0, 70)])), CAP),
      false,
    );
  });

  it('prefix path: not gzip, over the size cap, a cut or foreign trailer all go to the full scan', () => {
    const part = gz('dump2.jfr.gz');
    const rawLength = gunzipSync(part).length;
    assert.equal(scanGzipJfrPrefix(gunzipSync(part), CAP), false); // not gzip
    assert.equal(scanGzipJfrPrefix(part, rawLength - 1), false); // the cap refuses it in full
    assert.equal(scanGzipJfrPrefix(part, rawLength), true);
    assert.equal(scanGzipJfrPrefix(part.subarray(0, part.length - 1), CAP), false); // cut trailer
    assert.equal(scanGzipJfrPrefix(part.subarray(0, 400), CAP), false); // shorter than a prefix
    const wrongLength = Buffer.from(part);
    wrongLength[wrongLength.length - 4] ^= 1;
    assert.equal(scanGzipJfrPrefix(wrongLength, CAP), false);
  });

  // Fuzz: mutated recordings (then gzipped, as an agent sends them) and mutated gzip streams.
  // The prefix path never throws; whenever it says "checked" the recording inflates to one the
  // full scan accepts, or its deflate data past the prefix is broken (left to the decoder and
  // its dead-letter queue, ADR 0013).
  it('fuzz: the prefix path says "checked" only for what the full scan accepts', () => {
    const seeds = ['cortex-dev-01__kafka-0__cpu__0.jfr.gz', 'wall_tick_sample.jfr.gz'].map((f) =>
      gunzipSync(gz(f)),
    );
    const flips = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
      maxLength: 4,
    });
    const headerAt = fc.nat({ max: 99 });
    const input = fc.oneof(
      // the recording mutated (mostly in its header) and cut, then gzipped
      fc
        .tuple(fc.constantFrom(...seeds), flips, headerAt, fc.option(fc.nat()))
        .map(([seed, fl, at, cut]) => {
          const b = Buffer.from(seed);
          for (const [i, v] of fl) b[i % 2 === 0 ? (at + i) % 100 : i % b.length] = v;
          return gzipSync(cut === null ? b : b.subarray(0, cut % (b.length + 1)));
        }),
      // the gzip stream itself mutated (header, prefix, trailer) and cut
      fc
        .tuple(fc.constantFrom(...seeds.map((s) => gzipSync(s))), flips, fc.option(fc.nat()))
        .map(([seed, fl, cut]) => {
          const b = Buffer.from(seed);
          for (const [i, v] of fl)
            b[i % 3 === 0 ? b.length - 1 - (i % 8) : i % 3 === 1 ? i % 600 : i % b.length] = v;
          return cut === null ? b : b.subarray(0, cut % (b.length + 1));
        }),
    );
    let checked = 0;
    fc.assert(
      fc.property(input, (part) => {
        if (!scanGzipJfrPrefix(part, CAP)) return;
        checked++;
        let raw: Uint8Array;
        try {
          raw = gunzipSync(part);
        } catch {
          return; // broken deflate data or CRC past the prefix: the decoder refuses it
        }
        assert.ok(fullScanAccepts(raw), 'the prefix path checked a recording the scan refuses');
      }),
      { numRuns: 300, seed: 20261202 },
    );
    assert.ok(checked > 20, `the fuzz reached the "checked" side only ${checked} times`);
  });
});
