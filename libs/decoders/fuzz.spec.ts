// Property tests: whatever the bytes, every decoder returns series or throws DecodeError, and
// does so quickly. Inputs are random bytes plus structure-aware mutations of real fixtures (so
// the fuzzer gets past the first checks).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';

import fc from 'fast-check';

import { fixturePath } from '../../test/support/paths.js';
import { isDecodeError } from './decode-error.js';
import type { DecodeInput, FormPart } from './decoder.js';
import { createDefaultRegistry, decodeUpload } from './registry.js';
import { defaultLimits } from './decoder.js';
import { ingestParams } from './spec-fixtures.js';
import type { UploadFormat } from '../protocol/index.js';

const read = (...p: string[]): Uint8Array =>
  new Uint8Array(readFileSync(fixturePath('pyroscope', ...p)));

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const MAX_MS = 1000;

const registry = createDefaultRegistry();

/**
 * Calls the format's decoder directly, not through the registry: the registry turns any stray
 * exception into a DecodeError, which would hide exactly the bugs this suite looks for.
 */
function decodeOnce(input: DecodeInput): void {
  const t0 = performance.now();
  try {
    const series = registry.get(input.format)!.decode(input, defaultLimits);
    assert.ok(Array.isArray(series));
    for (const s of series) {
      assert.ok(s.labels.length > 0);
      assert.ok(s.profile.sample.length > 0);
    }
  } catch (e) {
    if (!isDecodeError(e)) {
      throw new Error(`${input.format}: non-DecodeError escaped: ${String(e)}`, { cause: e });
    }
  }
  const ms = performance.now() - t0;
  assert.ok(ms < MAX_MS, `${input.format}: took ${ms.toFixed(0)} ms`);
}

const input = (
  format: UploadFormat,
  body: Uint8Array,
  extra: Partial<DecodeInput> = {},
): DecodeInput => ({
  format,
  body,
  params: ingestParams('app.cpu{env=fuzz}'),
  contentType: '',
  nowNanos: 1700000000000000000n,
  ...extra,
});

/** A fixture with random bytes overwritten, inserted or cut. */
function mutated(seed: Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
      fc.option(fc.nat(), { nil: undefined }),
      fc.uint8Array({ maxLength: 16 }),
    )
    .map(([edits, cut, insert]) => {
      let b = new Uint8Array(seed);
      for (const [pos, v] of edits) if (b.length > 0) b[pos % b.length] = v;
      if (cut !== undefined && b.length > 0) b = b.subarray(0, cut % b.length);
      if (insert.length > 0) {
        const at = b.length === 0 ? 0 : (edits[0]?.[0] ?? 0) % b.length;
        const out = new Uint8Array(b.length + insert.length);
        out.set(b.subarray(0, at));
        out.set(insert, at);
        out.set(b.subarray(at), at + insert.length);
        b = out;
      }
      return b;
    });
}

const anyBytes = fc.uint8Array({ maxLength: 4096 });

describe('fuzz: every decoder returns series or a DecodeError, quickly', () => {
  const formats: UploadFormat[] = [
    'groups',
    'lines',
    'trie',
    'tree',
    'speedscope',
    'pprof',
    'pprof-form',
    'push',
    'jfr',
    'jfr-form',
  ];
  for (const format of formats) {
    it(`${format}: random bytes`, () => {
      fc.assert(
        fc.property(anyBytes, (b) => decodeOnce(input(format, b))),
        { numRuns: RUNS },
      );
    });
  }

  const seeds: [UploadFormat, Uint8Array][] = [
    ['groups', read('legacy', 'groups-testvector.txt')],
    ['lines', read('legacy', 'lines-testvector.txt')],
    ['tree', read('legacy', 'tree-nodict-testvector.bin')],
    ['tree', read('legacy', 'dump1-cpu.tree.bin').subarray(0, 600)],
    ['trie', read('legacy', 'trie-testvector.bin')],
    ['trie', read('legacy', 'dump1-cpu.trie.bin').subarray(0, 600)],
    ['speedscope', read('speedscope', 'simple.speedscope.json')],
    ['speedscope', read('speedscope', 'two-sampled.speedscope.json')],
    ['pprof', read('pprof', 'heap-js.pprof')],
    ['pprof', read('pprof', 'req_4.pprof')],
  ];
  for (const [format, seed] of seeds) {
    it(`${format}: mutated fixture (${seed.length} bytes)`, () => {
      fc.assert(
        fc.property(mutated(seed), (b) => decodeOnce(input(format, b))),
        { numRuns: RUNS },
      );
    });
  }

  it('pprof: gzip of mutated pprof bytes', () => {
    const seed = read('pprof', 'heap-js.pprof');
    fc.assert(
      fc.property(mutated(seed), (b) => decodeOnce(input('pprof', gzipSync(b)))),
      { numRuns: RUNS },
    );
  });

  it('pprof-form: parts with random content', () => {
    const part = fc.record({
      name: fc.constantFrom('profile', 'prev_profile', 'sample_type_config', 'other'),
      filename: fc.option(fc.constantFrom('f', ''), { nil: undefined }),
      data: fc.oneof(
        anyBytes,
        mutated(read('pprof', 'req_4.st.json')),
        mutated(read('pprof', 'req_4.pprof')),
      ),
    });
    fc.assert(
      fc.property(fc.array(part, { maxLength: 4 }), (parts) =>
        decodeOnce(input('pprof-form', new Uint8Array(0), { parts: parts as FormPart[] })),
      ),
      { numRuns: RUNS },
    );
  });

  it('pprof-form: mutated multipart body', () => {
    const ct =
      'multipart/form-data; boundary=5f0e3a8c1d2b4a697788990011223344556677889900aabbccddeeff0011';
    fc.assert(
      fc.property(mutated(read('multipart', 'go-mutex.multipart.bin')), (b) =>
        decodeOnce(input('pprof-form', b, { contentType: ct })),
      ),
      { numRuns: RUNS },
    );
  });

  it('push: decoded series with random labels and payloads', () => {
    const label = fc.record({
      name: fc.string({ maxLength: 12 }),
      value: fc.string({ maxLength: 12 }),
    });
    const series = fc.record({
      labels: fc.array(label, { maxLength: 6 }),
      samples: fc.array(
        fc.record({
          rawProfile: fc.oneof(anyBytes, mutated(read('pprof', 'heap-js.pprof'))),
          id: fc.string({ maxLength: 8 }),
        }),
        { maxLength: 2 },
      ),
    });
    fc.assert(
      fc.property(fc.array(series, { maxLength: 3 }), (push) =>
        decodeOnce(input('push', new Uint8Array(0), { push })),
      ),
      { numRuns: RUNS },
    );
  });

  it('folded: random text lines', () => {
    const line = fc.tuple(
      fc.array(fc.string({ maxLength: 6 }), { maxLength: 6 }),
      fc.oneof(fc.integer(), fc.string({ maxLength: 4 })),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 30 }), fc.boolean(), (lines, asLines) => {
        const text = lines.map(([fr, v]) => `${fr.join(';')} ${v}`).join('\n');
        decodeOnce(input(asLines ? 'lines' : 'groups', new TextEncoder().encode(text)));
      }),
      { numRuns: RUNS },
    );
  });

  it('speedscope: random JSON shaped like the format', () => {
    const num = fc.oneof(
      fc.integer({ min: -3, max: 10 }),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
    );
    const profile = fc.record({
      type: fc.constantFrom('sampled', 'evented', 'x'),
      name: fc.string({ maxLength: 4 }),
      unit: fc.constantFrom('none', 'seconds', 'bytes', 'nanoseconds', 'milliseconds', 'furlongs'),
      startValue: num,
      samples: fc.array(fc.array(num, { maxLength: 4 }), { maxLength: 5 }),
      weights: fc.array(num, { maxLength: 5 }),
      events: fc.array(fc.record({ type: fc.constantFrom('O', 'C', 'X'), at: num, frame: num }), {
        maxLength: 8,
      }),
    });
    fc.assert(
      fc.property(
        fc.array(fc.record({ name: fc.string({ maxLength: 4 }) }), { maxLength: 4 }),
        fc.array(profile, { maxLength: 3 }),
        (frames, profiles) => {
          const body = JSON.stringify({
            $schema: 'https://www.speedscope.app/file-format-schema.json',
            shared: { frames },
            profiles,
          });
          decodeOnce(input('speedscope', new TextEncoder().encode(body)));
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('bounded work on hostile inputs', () => {
  it('a deeply nested speedscope JSON is a DecodeError', () => {
    const body = new TextEncoder().encode('['.repeat(200000));
    decodeOnce(input('speedscope', body));
  });

  it('a trie whose keys grow quadratically is cut off', () => {
    // Each node adds 200 bytes to the key and has a value: keys sum to ~n² bytes.
    const n = 20000;
    const name = new Uint8Array(200).fill(0x61);
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(0xc8, 0x01, ...name, 1, i === n - 1 ? 0 : 1);
    const t0 = performance.now();
    assert.throws(() => decodeUpload(input('trie', new Uint8Array(out))), isDecodeError);
    assert.ok(performance.now() - t0 < 5000);
  });

  it('folded with many distinct stacks hits the samples limit', () => {
    const text = Array.from({ length: 20000 }, (_, i) => `f${i} 1`).join('\n');
    assert.throws(
      () => decodeUpload(input('groups', new TextEncoder().encode(text))),
      (e) => isDecodeError(e) && e.reason === 'samples_limit',
    );
  });
});
