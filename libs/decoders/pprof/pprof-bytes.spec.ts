import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { fixturePath } from '../../../test/support/paths.js';
import { isDecodeError } from '../decode-error.js';
import { inflatePprof } from './pprof-bytes.js';

// inflatePprof sizes zlib's output from the gzip trailer (one buffer instead of 16 KiB chunks
// and a concat); the trailer is the sender's word, so a wrong one must change nothing but cost.

const gz = readFileSync(fixturePath('pyroscope', 'pprof', 'heap.pb.gz'));
const raw = gunzipSync(gz);
const withIsize = (b: Buffer, isize: number): Buffer => {
  const out = Buffer.from(b);
  out.writeUInt32LE(isize >>> 0, out.length - 4);
  return out;
};
const tooLarge = (err: unknown): boolean => isDecodeError(err) && err.kind === 'too_large';

describe('inflatePprof', () => {
  // regression (probe): a 700-byte profile came back as a view of zlib's 16 KiB chunk, so the
  // 10,000 samples of one Push held 160 MB for 7 MB of profiles
  it('returns a small profile in a buffer of its own size, not a view of a zlib chunk', () => {
    const small = raw.subarray(0, 700);
    const out = inflatePprof(gzipSync(small), 4 << 20);
    assert.ok(Buffer.from(out).equals(small));
    assert.equal(out.buffer.byteLength, 700);
    const whole = inflatePprof(gz, 0);
    assert.ok(whole.buffer.byteLength - whole.byteLength <= 4096, 'a large one is not copied');
  });

  it('inflates to the same bytes, the cap exact to the byte', () => {
    assert.ok(Buffer.from(inflatePprof(gz, 0)).equals(raw));
    assert.ok(Buffer.from(inflatePprof(gz, raw.length)).equals(raw));
    assert.throws(() => inflatePprof(gz, raw.length - 1), tooLarge);
  });

  it('a trailer that lies about the length changes nothing but the buffer sizes', () => {
    // a gzip is checked by zlib against its own trailer: a changed ISIZE is a corrupt stream
    for (const isize of [0, 1, raw.length - 1, raw.length + 1, 0xffffffff])
      assert.throws(
        () => inflatePprof(withIsize(gz, isize), 64 << 20),
        (err: unknown) => isDecodeError(err) && err.kind === 'malformed',
        String(isize),
      );
    // several members: ISIZE is the last one's only, and every member is still read
    const two = Buffer.concat([gzipSync(raw.subarray(0, 1000)), gzipSync(raw.subarray(1000))]);
    assert.ok(Buffer.from(inflatePprof(two, 64 << 20)).equals(raw));
    const small = Buffer.concat([gzipSync(raw), gzipSync(raw.subarray(0, 10))]);
    assert.equal(inflatePprof(small, 0).length, raw.length + 10);
    assert.throws(() => inflatePprof(small, raw.length + 9), tooLarge);
  });

  it('a small body claiming a huge length is bounded by what it can inflate to', () => {
    const tiny = gzipSync(Buffer.from([0x0a, 0x02, 0x08, 0x01]));
    const claimed = Buffer.concat([tiny, gzipSync(Buffer.alloc(0))]);
    // the second member is empty: its ISIZE 0; the output is the first member's four bytes
    assert.equal(inflatePprof(claimed, 0).length, 4);
    const bomb = gzipSync(Buffer.alloc(8 << 20));
    assert.throws(() => inflatePprof(bomb, 1 << 20), tooLarge);
    assert.equal(inflatePprof(bomb, 8 << 20).length, 8 << 20);
  });
});
