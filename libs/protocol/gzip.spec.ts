import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { fixturePath } from '../../test/support/paths.js';
import { isProtocolError, ProtocolError } from './errors.js';
import { gzipOutputChunkSize, inflateBounded, isGzip, maybeInflatePprof } from './gzip.js';

function rejects(fn: () => unknown, kind: string, message: string | RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ProtocolError, String(e));
    assert.equal(e.kind, kind);
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
}

describe('isGzip', () => {
  it('checks the magic bytes', () => {
    assert.equal(isGzip(Buffer.from([0x1f, 0x8b])), true);
    assert.equal(isGzip(Buffer.from([0x1f])), false);
    assert.equal(isGzip(Buffer.from([0x8b, 0x1f])), false);
    assert.equal(isGzip(readFileSync(fixturePath('pyroscope/pprof/cpu.pb.gz'))), true);
    // a `.pb.gz` that is not gzip (fixtures README)
    assert.equal(isGzip(readFileSync(fixturePath('pyroscope/pprof/pyspy-1.pb.gz'))), false);
  });
});

describe('inflateBounded', () => {
  it('inflates within the limit, and at exactly the limit', () => {
    const data = Buffer.from('hello '.repeat(1000));
    assert.deepEqual(inflateBounded(gzipSync(data), 0), data);
    assert.deepEqual(inflateBounded(gzipSync(data), data.length), data);
  });

  it('inflates into one buffer of the trailer’s length, whatever the trailer says', () => {
    const data = Buffer.from(Array.from({ length: 30_000 }, (_, i) => `frame${i % 977};`).join(''));
    const gz = gzipSync(data);
    const out = inflateBounded(gz, 0);
    assert.ok(out.equals(data));
    assert.ok(out.buffer.byteLength <= data.length + 1, `one chunk: ${out.buffer.byteLength}`);
    // the trailer is checked by zlib: a lying ISIZE is a corrupt stream, never a wrong output
    const lying = Buffer.from(gz);
    lying.writeUInt32LE(0xffffffff, lying.length - 4);
    rejects(() => inflateBounded(lying, 0), 'corrupt', /./);
  });

  it('sizes the output chunk from ISIZE, bounded by the input, 64 MiB and the cap', () => {
    const withIsize = (n: number, isize: number): Buffer => {
      const b = Buffer.alloc(n);
      b.writeUInt32LE(isize, n - 4);
      return b;
    };
    assert.equal(gzipOutputChunkSize(withIsize(100_000, 250_000), 0), 250_001);
    assert.equal(gzipOutputChunkSize(withIsize(100_000, 250_000), 200_000), 200_001);
    // what 20 bytes can inflate to, not the 4 GiB they claim
    assert.equal(gzipOutputChunkSize(withIsize(20, 0xffffffff), 0), 20 * 1032 + 64);
    assert.equal(gzipOutputChunkSize(withIsize(1 << 20, 0xffffffff), 0), 64 << 20);
    // never under zlib's default chunk
    assert.equal(gzipOutputChunkSize(withIsize(100, 10), 0), 16 * 1024);
    assert.equal(gzipOutputChunkSize(Buffer.alloc(2), 0), 16 * 1024);
  });

  it('reads concatenated members', () => {
    const both = Buffer.concat([gzipSync(Buffer.from('ab')), gzipSync(Buffer.from('cd'))]);
    assert.equal(inflateBounded(both, 100).toString(), 'abcd');
  });

  it('one byte over the limit is Pyroscope’s size error (422, profile_size_limit)', () => {
    const data = Buffer.alloc(1001, 7);
    assert.throws(
      () => inflateBounded(gzipSync(data), 1000),
      (e: unknown) =>
        e instanceof ProtocolError &&
        e.kind === 'profile_too_large' &&
        e.status === 422 &&
        e.reason === 'profile_size_limit' &&
        e.message === 'decompressed size exceeds maximum allowed size of 1000 bytes',
    );
  });

  it('stops a gzip bomb at the cap (1 GiB of zeros against a 4 MiB limit)', () => {
    // 1 GiB of zeros deflates to about 1 MiB; build it from a stream of members cheaply.
    const member = gzipSync(Buffer.alloc(64 << 20));
    const bomb = Buffer.concat(Array.from({ length: 16 }, () => member));
    const before = process.memoryUsage().arrayBuffers;
    const t0 = performance.now();
    rejects(() => inflateBounded(bomb, 4 << 20), 'profile_too_large', /4194304 bytes$/);
    const elapsed = performance.now() - t0;
    assert.ok(elapsed < 2000, `took ${elapsed} ms: the inflater did not stop early`);
    assert.ok(process.memoryUsage().arrayBuffers - before < 64 << 20, 'memory grew past the cap');
  });

  it('a truncated stream is `unexpected EOF`', () => {
    const gz = gzipSync(Buffer.from('some profile bytes'.repeat(50)));
    for (const cut of [3, 10, 20, gz.length - 1]) {
      rejects(() => inflateBounded(gz.subarray(0, cut), 0), 'truncated', 'unexpected EOF');
    }
  });

  it('a checksum mismatch and a bad header are corrupt', () => {
    const gz = Buffer.from(gzipSync(Buffer.from('abc')));
    gz[gz.length - 8] ^= 0xff; // CRC32
    rejects(() => inflateBounded(gz, 0), 'corrupt', 'gzip: invalid checksum');
    rejects(
      () => inflateBounded(Buffer.from([0x1f, 0x8b, 7, 0, 0, 0, 0, 0, 0, 0, 0]), 0),
      'corrupt',
      'gzip: invalid header',
    );
  });

  it('accepts a limit above the largest Buffer', () => {
    assert.equal(
      inflateBounded(gzipSync(Buffer.from('x')), Number.MAX_SAFE_INTEGER).toString(),
      'x',
    );
  });

  it('rejects a negative limit as a programming error', () => {
    assert.throws(() => inflateBounded(gzipSync(Buffer.from('x')), -1), RangeError);
  });

  it('random bytes after the magic never throw anything but ProtocolError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (tail) => {
        try {
          inflateBounded(Buffer.concat([Buffer.from([0x1f, 0x8b, 8]), tail]), 1000);
        } catch (e) {
          assert.ok(isProtocolError(e), String(e));
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('maybeInflatePprof', () => {
  it('inflates a gzipped pprof fixture and passes a raw one through untouched', () => {
    const gz = readFileSync(fixturePath('pyroscope/pprof/heap.pb.gz'));
    const raw = readFileSync(fixturePath('pyroscope/pprof/heap.pb'));
    assert.deepEqual(Buffer.from(maybeInflatePprof(gz, 4 << 20)), raw);
    assert.equal(maybeInflatePprof(raw, 4 << 20), raw);
  });
  it('applies the cap to raw payloads too', () => {
    rejects(
      () => maybeInflatePprof(Buffer.alloc(11), 10),
      'profile_too_large',
      'decompressed size exceeds maximum allowed size of 10 bytes',
    );
  });
});
