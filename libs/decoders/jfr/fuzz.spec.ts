// Robustness: whatever the bytes, decoding either succeeds or throws a JfrError that is not a
// converted internal error, in bounded time. Seeds are real recordings and a synthetic chunk
// exercising every encoding.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { fixturePath } from '../../../test/support/paths.js';
import { JfrError } from './errors.js';
import { decodeJfr } from './profile-mapper.js';
import { Bytes, alloc, chunk, concat, pools, standardChunk, T, type PoolDef } from './testing.js';

const seeds: Uint8Array[] = [
  gunzipSync(readFileSync(fixturePath('pyroscope/jfr/nativemem.jfr.gz'))),
  gunzipSync(readFileSync(fixturePath('pyroscope/jfr/wall_tick_sample.jfr.gz'))),
  gunzipSync(readFileSync(fixturePath('pyroscope/jfr/new_spancontext.jfr.gz'))),
  concat(standardChunk(0n, [alloc(7, 100)]), standardChunk(77n)),
];
const labels = gunzipSync(readFileSync(fixturePath('pyroscope/jfr/new_spancontext.labels.gz')));

let slowest = 0;

/** Decodes and returns 'ok' or the error kind; fails the property on anything but a clean JfrError. */
function outcome(jfr: Uint8Array, withLabels?: Uint8Array): string {
  const t0 = performance.now();
  try {
    decodeJfr({ jfr, labels: withLabels, startNanos: 0, endNanos: 10, sampleRate: 100 });
    return 'ok';
  } catch (e) {
    if (!(e instanceof JfrError)) throw e;
    assert.equal(e.cause, undefined, `internal error converted: ${String(e.cause)}`);
    return e.kind;
  } finally {
    slowest = Math.max(slowest, performance.now() - t0);
  }
}

const seedArb = fc.integer({ min: 0, max: seeds.length - 1 });

describe('JFR fuzz', () => {
  it('parses the seeds', () => {
    for (const s of seeds) assert.equal(outcome(s, labels), 'ok');
  });

  it('truncated recordings fail as truncated (or parse when cut at a chunk boundary)', () => {
    fc.assert(
      fc.property(seedArb, fc.double({ min: 0, max: 1, noNaN: true }), (i, f) => {
        const s = seeds[i];
        const r = outcome(s.subarray(0, Math.floor(s.length * f)));
        assert.ok(r === 'truncated' || r === 'ok', r);
      }),
      { numRuns: 150 },
    );
  });

  it('random byte mutations of real recordings', () => {
    fc.assert(
      fc.property(
        seedArb,
        fc.array(
          fc.tuple(
            fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
            fc.integer({ min: 0, max: 255 }),
          ),
          {
            minLength: 1,
            maxLength: 16,
          },
        ),
        (i, muts) => {
          const b = seeds[i].slice();
          for (const [at, v] of muts) b[Math.floor(at * b.length)] = v;
          outcome(b, labels);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('huge varints spliced in anywhere', () => {
    const huge = [
      [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
      [0xff, 0xff, 0xff, 0xff, 0x0f],
      [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
    ];
    fc.assert(
      fc.property(
        seedArb,
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: huge.length - 1 }),
        fc.boolean(),
        (i, at, h, overwrite) => {
          const s = seeds[i];
          const p = Math.floor(at * s.length);
          const ins = Uint8Array.from(huge[h]);
          const b = overwrite ? s.slice() : concat(s.subarray(0, p), ins, s.subarray(p));
          if (overwrite) b.set(ins.subarray(0, Math.max(0, Math.min(ins.length, b.length - p))), p);
          outcome(b);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('corrupt pools: stack traces, methods and classes pointing anywhere', () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), { minLength: 1, maxLength: 6 }),
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        (refs, count) => {
          const p = pools();
          const st = p.find((x) => x.type === T.stackTrace) as PoolDef;
          st.entries.push([
            5,
            (b) =>
              b
                .u8(1)
                .varint(refs.length)
                .raw(refs.flatMap((r) => new Bytes().varint(r).varint(r).varint(r).varint(r).out)),
          ]);
          st.entries.push([6, (b) => b.u8(0).varint(count)]);
          const m = p.find((x) => x.type === T.method) as PoolDef;
          m.entries.push([
            refs[0],
            (b) =>
              b
                .varint(refs[0])
                .varint(refs[refs.length - 1])
                .varint(0)
                .varint(0)
                .u8(0),
          ]);
          outcome(
            chunk({ checkpoints: [p], events: [alloc(5, 1), alloc(6, 2), alloc(refs[0], 3)] }),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it('random bytes after a valid chunk header prefix', () => {
    const head = seeds[3].subarray(0, 68);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 4096 }), (tail) => {
        outcome(concat(head, tail));
      }),
      { numRuns: 300 },
    );
  });

  it('stays within a time bound per input', () => {
    assert.ok(slowest < 2000, `slowest decode took ${slowest.toFixed(0)} ms`);
  });
});
