import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { BodyReadError, readBody } from './body-reader.js';

const limits = { maxBytes: 1000, minBytesPerSecond: 0, graceMs: 0 };

function stream(chunks: string[], end = true): PassThrough {
  const s = new PassThrough();
  for (const c of chunks) s.write(Buffer.from(c));
  if (end) s.end();
  return s;
}

const fails = (status: number, reason: string) => (e: unknown) =>
  e instanceof BodyReadError && e.status === status && e.reason === reason;

describe('readBody', () => {
  it('reads a body with a Content-Length into one buffer, and a chunked one by concatenation', async () => {
    assert.equal((await readBody(stream(['ab', 'cd']), 4, limits)).toString(), 'abcd');
    assert.equal(
      (await readBody(stream(['ab', 'cd', 'e']), undefined, limits)).toString(),
      'abcde',
    );
    assert.equal((await readBody(stream([]), 0, limits)).length, 0);
  });

  it('refuses a body past the limit with 413, and a length mismatch with 400', async () => {
    await assert.rejects(
      readBody(stream(['x'.repeat(600), 'y'.repeat(600)]), undefined, limits),
      fails(413, 'body_size_limit'),
    );
    await assert.rejects(readBody(stream(['abc']), 2, limits), fails(400, 'bad_length'));
    await assert.rejects(readBody(stream(['ab']), 5, limits), fails(400, 'client_aborted'));
  });

  it('answers 408 to a body that trickles in below the minimum rate (regression: one byte every 4 s kept the connection for ever)', async () => {
    let now = 0;
    const s = stream(['a'], false);
    const t0 = Date.now();
    const p = readBody(
      s,
      1_000_000,
      { maxBytes: 2_000_000, minBytesPerSecond: 1024, graceMs: 50 },
      undefined,
      () => now,
    );
    now = 60; // the timer fires when the bytes so far stop sufficing: 50 ms + 1 byte / 1 KiB/s
    await assert.rejects(
      p,
      (e) => fails(408, 'slow_body')(e) && /1 bytes of 1000000/.test((e as Error).message),
    );
    assert.ok(Date.now() - t0 < 30_000);
  });

  it('keeps a body that arrives fast enough', async () => {
    const s = new PassThrough();
    const p = readBody(s, 6, { maxBytes: 100, minBytesPerSecond: 1, graceMs: 1_000 });
    s.write('abc');
    setTimeout(() => s.end('def'), 20);
    assert.equal((await p).toString(), 'abcdef');
  });

  it('grows the reservation of a chunked body and answers 503 when the budget cannot take more', async () => {
    let held = 2;
    const grown: number[] = [];
    const reservation = {
      get bytes() {
        return held;
      },
      grow(more: number) {
        grown.push(more);
        if (held + more > 600) return false;
        held += more;
        return true;
      },
    };
    const big = { ...limits, maxBytes: 10_000 };
    await assert.rejects(
      readBody(stream(['x'.repeat(500), 'y'.repeat(500)]), undefined, big, reservation),
      fails(503, 'budget_exhausted'),
    );
    assert.equal(held, 500);
    // a step of 256 KiB (capped at the limit) first, then just what the chunk needs
    assert.deepEqual(grown, [9998, 498, 9500, 500]);
  });

  it('answers 400 when the client goes away mid-body', async () => {
    const s = new PassThrough();
    const p = readBody(s, 10, limits);
    s.write('abc');
    s.destroy();
    await assert.rejects(p, fails(400, 'client_aborted'));
  });
});
