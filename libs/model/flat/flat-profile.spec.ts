import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { fixturePath } from '../../../test/support/paths.js';
import { sortLabels, type LabelPair } from '../labels.js';
import { decodePprof, decodePprofFlat, encodePprof, encodePprofFlat } from '../pprof/index.js';
import { splitBySampleLabels } from '../series-split.js';
import type { Profile } from '../profile.js';
import { flatToProfile, profileToFlat } from './flat-profile.js';
import { normalizeFlat } from './normalize-flat.js';
import { splitFlatBySampleLabels } from './split-flat.js';
import { int64Arb, profileArb, referenceNormalize } from './testing.js';

// The flat model against the object model: conversions are exact, the codec reads and writes
// the same bytes, and normalisation and series splitting give what the object-model algorithms
// give (testing.ts keeps the normalisation the flat one replaced; series-split.ts is the
// splitting reference), on every pprof fixture and on random profiles full of oddities.

function pprofFixtures(): { name: string; bytes: Uint8Array }[] {
  const dir = fixturePath('pyroscope', 'pprof');
  const out = readdirSync(dir)
    .filter((f) => !f.endsWith('.json') && !f.startsWith('invalid'))
    .map((name) => ({ name, bytes: new Uint8Array(readFileSync(`${dir}/${name}`)) }));
  out.push({
    name: 'large.cpu',
    bytes: new Uint8Array(readFileSync(fixturePath('bench', 'large.cpu'))),
  });
  return out.map(({ name, bytes }) => ({
    name,
    bytes: bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes,
  }));
}

const BASE: LabelPair[] = [
  { name: '__name__', value: 'process_cpu' },
  { name: 'service_name', value: 'svc' },
  { name: 'a', value: '' },
];
const finishes: Record<string, (l: LabelPair[]) => LabelPair[] | undefined> = {
  sort: (l) => sortLabels(l),
  drop: (l) => (l.some((x) => x.name === 'a' && x.value === 'a') ? undefined : sortLabels(l)),
  same: () => sortLabels(BASE),
};

describe('flat profile', () => {
  it('converts from and to Profile exactly (random profiles)', () => {
    fc.assert(
      fc.property(profileArb, (p) => {
        // (structuredClone: fast-check builds null-prototype records)
        assert.deepEqual(flatToProfile(profileToFlat(p)), structuredClone(p));
      }),
      { numRuns: 2000 },
    );
  });

  it('decodes and encodes every pprof fixture as the object codec does', () => {
    for (const { name, bytes } of pprofFixtures()) {
      const flat = decodePprofFlat(bytes);
      const p = decodePprof(bytes);
      assert.deepEqual(flatToProfile(flat), p, name);
      assert.deepEqual(Buffer.from(encodePprofFlat(flat)), Buffer.from(encodePprof(p)), name);
    }
  });

  it('normalises every pprof fixture as the object-model algorithm does', () => {
    for (const { name, bytes } of pprofFixtures()) {
      const ref = decodePprof(bytes);
      const refStats = referenceNormalize(ref);
      const f = decodePprofFlat(bytes);
      assert.deepEqual(normalizeFlat(f), refStats, name);
      assert.deepEqual(flatToProfile(f), ref, name);
    }
  });

  it('normalises random profiles as the object-model algorithm does', () => {
    fc.assert(
      fc.property(profileArb, fc.option(int64Arb, { nil: undefined }), (p, now) => {
        const opts = now === undefined ? {} : { nowNanos: now };
        const ref = structuredClone(p);
        const refStats = referenceNormalize(ref, opts);
        const f = profileToFlat(p);
        assert.deepEqual(normalizeFlat(f, opts), refStats);
        assert.deepEqual(flatToProfile(f), ref);
      }),
      { numRuns: 5000 },
    );
  });

  it('splits random profiles (raw and normalised) as splitBySampleLabels does', () => {
    fc.assert(
      fc.property(
        profileArb,
        fc.constantFrom('sort', 'drop', 'same'),
        fc.boolean(),
        (p0, k, norm) => {
          const p = structuredClone(p0);
          // the reference adds values index by index: give every sample one per sample type
          for (const s of p.sample) s.value = p.sampleType.map((_, i) => s.value[i] ?? 1);
          if (norm) referenceNormalize(p);
          const ref = splitBySampleLabels(BASE, structuredClone(p), finishes[k]);
          const flat = splitFlatBySampleLabels(BASE, profileToFlat(p), finishes[k]);
          assert.deepEqual(
            flat.map((s) => ({ labels: s.labels, profile: flatToProfile(s.profile) })),
            ref,
          );
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('gives each of many label groups only the symbols it uses', () => {
    const b = profileToFlat(referenceProfile());
    const out = splitFlatBySampleLabels(BASE, b, finishes.sort);
    assert.equal(out.length, 50);
    for (const s of out) assert.equal(s.profile.locations.count, 3);
  });
});

/** 50 groups of one sample each, every sample on the same two frames plus its own leaf. */
function referenceProfile() {
  const p: Profile = {
    sampleType: [{ type: 1, unit: 2 }],
    sample: [],
    mapping: [],
    location: [],
    function: [],
    stringTable: ['', 'cpu', 'nanoseconds', 'request', 'root', 'mid'],
    dropFrames: 0,
    keepFrames: 0,
    timeNanos: 0,
    durationNanos: 0,
    periodType: undefined,
    period: 0,
    comment: [],
    defaultSampleType: 0,
    docUrl: 0,
  };
  const fn = (name: number, id: number) => ({
    id,
    name,
    systemName: name,
    filename: 0,
    startLine: 0,
  });
  const loc = (id: number) => ({
    id,
    mappingId: 0,
    address: 0,
    line: [{ functionId: id, line: 0, column: 0 }],
    isFolded: false,
  });
  p.function.push(fn(4, 1), fn(5, 2));
  p.location.push(loc(1), loc(2));
  for (let i = 0; i < 50; i++) {
    const leaf = p.stringTable.length;
    p.stringTable.push(`leaf${i}`, `r${i}`);
    p.function.push(fn(leaf, 3 + i));
    p.location.push(loc(3 + i));
    p.sample.push({
      locationId: [3 + i, 2, 1],
      value: [1],
      label: [{ key: 3, str: leaf + 1, num: 0, numUnit: 0 }],
    });
  }
  return p;
}
