import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ProfileBuilder } from '../profile-builder.js';
import type { Profile } from '../profile.js';
import { decodePprof } from './profile-reader.js';
import { encodePprof } from './profile-writer.js';
import { splitPprof } from './profile-parts.js';

/** stack (root first, names) → summed values, per sample type; labels included in the key */
function totals(p: Profile): Map<string, number[]> {
  const fnName = new Map(p.function.map((f) => [f.id, p.stringTable[f.name]]));
  const loc = new Map(p.location.map((l) => [l.id, l]));
  const out = new Map<string, number[]>();
  for (const s of p.sample) {
    const frames = s.locationId
      .map((id) =>
        loc
          .get(id)!
          .line.map((l) => fnName.get(l.functionId))
          .join('+'),
      )
      .reverse()
      .join(';');
    const labels = s.label
      .map((l) => `${p.stringTable[l.key]}=${p.stringTable[l.str]}`)
      .sort()
      .join(',');
    const key = `${frames}|${labels}`;
    const v = out.get(key) ?? p.sampleType.map(() => 0);
    s.value.forEach((x, i) => (v[i] += Number(x)));
    out.set(key, v);
  }
  return out;
}

function merged(parts: Uint8Array[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const b of parts) {
    for (const [k, v] of totals(decodePprof(b))) {
      const t = out.get(k);
      out.set(k, t ? t.map((x, i) => x + v[i]) : v);
    }
  }
  return out;
}

/** A profile with `stacks` distinct stacks over a shared set of frames, like a big folded upload. */
function bigProfile(stacks: number): Uint8Array {
  const b = new ProfileBuilder()
    .sampleType('samples', 'count')
    .sampleType('cpu', 'nanoseconds')
    .period('cpu', 'nanoseconds', 10_000_000)
    .time(1_700_000_000_000_000_000n, 10_000_000_000);
  for (let i = 0; i < stacks; i++) {
    const depth = 8 + (i % 13);
    const frames = Array.from(
      { length: depth },
      (_, d) => `com.example.pkg${d % 7}.Service${(i * 31 + d) % 97}.method${(i + d) % 53}`,
    );
    frames.push(`leaf${i}`);
    b.stack(frames, [i + 1, (i + 1) * 10_000_000], i % 5 === 0 ? [['span_id', `${i % 16}`]] : []);
  }
  return encodePprof(b.build());
}

describe('splitPprof', () => {
  it('cuts a 12,000-stack profile into parts within the budget with exactly the same totals', () => {
    const whole = bigProfile(12_000);
    const budget = 256 * 1024;
    assert.ok(whole.length > 4 * budget, `fixture is ${whole.length} bytes`);
    const parts = splitPprof(whole, budget);
    assert.ok(parts.length >= 4, `${parts.length} parts`);
    for (const p of parts) assert.ok(p.length <= budget, `part of ${p.length} bytes`);
    assert.deepEqual(merged(parts), totals(decodePprof(whole)));
    const first = decodePprof(parts[0]);
    const original = decodePprof(whole);
    assert.equal(first.timeNanos, original.timeNanos);
    assert.equal(first.durationNanos, original.durationNanos);
    assert.equal(first.period, original.period);
    assert.deepEqual(
      first.sampleType.map((t) => first.stringTable[t.type]),
      original.sampleType.map((t) => original.stringTable[t.type]),
    );
  });

  it('is deterministic: the same bytes and budget give the same parts', () => {
    const whole = bigProfile(3_000);
    const a = splitPprof(whole, 64 * 1024);
    const b = splitPprof(whole, 64 * 1024);
    assert.equal(a.length, b.length);
    a.forEach((p, i) => assert.deepEqual(p, b[i]));
  });

  it('returns the input itself when it fits', () => {
    const whole = bigProfile(10);
    const parts = splitPprof(whole, whole.length);
    assert.equal(parts.length, 1);
    assert.equal(parts[0], whole);
  });

  it('keeps a single sample larger than the budget as one part (it cannot be cut)', () => {
    const b = new ProfileBuilder().sampleType('cpu', 'nanoseconds');
    b.stack(
      Array.from({ length: 2000 }, (_, i) => `frame-with-a-long-name-${i}`),
      [5],
    );
    b.stack(['main', 'small'], [7]);
    const whole = encodePprof(b.build());
    const parts = splitPprof(whole, 4096);
    assert.equal(parts.length, 2);
    assert.deepEqual(merged(parts), totals(decodePprof(whole)));
  });

  it('keeps every sample exactly once for any profile and budget (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            frames: fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'ffffffffffff'), {
              minLength: 1,
              maxLength: 12,
            }),
            value: fc.integer({ min: 1, max: 1_000_000 }),
          }),
          { minLength: 2, maxLength: 200 },
        ),
        fc.integer({ min: 64, max: 4096 }),
        (samples, budget) => {
          const b = new ProfileBuilder().sampleType('alloc', 'bytes');
          for (const s of samples) b.stack(s.frames, [s.value]);
          const whole = encodePprof(b.build());
          const parts = splitPprof(whole, budget);
          assert.deepEqual(merged(parts), totals(decodePprof(whole)));
          const samplesIn = parts.reduce((n, p) => n + decodePprof(p).sample.length, 0);
          assert.equal(samplesIn, samples.length);
        },
      ),
      { numRuns: 200 },
    );
  });
});
