import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  goAtoi,
  goQuoteBytes,
  goQuoteRune,
  goTrimSpace,
  humanizeBytes,
  isValidUtf8,
} from './go-compat.js';
import { isProtocolError, ProtocolError } from './errors.js';

describe('Go compatibility helpers', () => {
  it('goTrimSpace trims Unicode spaces like strings.TrimSpace', () => {
    assert.equal(goTrimSpace(' \t\n\u0085\u00a0\u3000x y\u2028 '), 'x y');
    assert.equal(goTrimSpace('\ufeffx'), '\ufeffx');
  });
  it('goAtoi', () => {
    assert.deepEqual(goAtoi('+12'), { value: 12n, ok: true });
    assert.deepEqual(goAtoi('1_0'), { value: 0n, ok: false });
    assert.deepEqual(goAtoi('9223372036854775808'), { value: 9223372036854775807n, ok: false });
    assert.deepEqual(goAtoi('-9223372036854775809'), { value: -9223372036854775808n, ok: false });
  });
  it('goQuoteRune and goQuoteBytes follow %q', () => {
    assert.equal(goQuoteRune(0x20), "' '");
    assert.equal(goQuoteRune(0x27), "'\\''");
    assert.equal(goQuoteRune(0x0a), "'\\n'");
    assert.equal(goQuoteRune(0x7f), "'\\x7f'");
    assert.equal(goQuoteRune(0xa0), "'\\u00a0'");
    assert.equal(goQuoteRune(0xe9), "'é'");
    assert.equal(goQuoteRune(0x1f600), "'😀'");
    // assigned after Unicode 15.0 (Go's tables): not printable for Go, whatever Node's ICU says
    assert.equal(goQuoteRune(0x88f), "'\\u088f'");
    assert.equal(goQuoteRune(0xe0000 + 1), "'\\U000e0001'");
    assert.equal(
      goQuoteBytes(Buffer.from([0x61, 0x22, 0xff, 0x0d, 0x0a, 0xc3, 0xa9])),
      '"a\\"\\xff\\r\\né"',
    );
  });
  it('isValidUtf8 rejects overlongs, surrogates and truncation', () => {
    assert.equal(isValidUtf8(Buffer.from('héllo 😀')), true);
    assert.equal(isValidUtf8(Buffer.from([0xc0, 0x80])), false);
    assert.equal(isValidUtf8(Buffer.from([0xed, 0xa0, 0x80])), false);
    assert.equal(isValidUtf8(Buffer.from([0xe2, 0x82])), false);
  });
  it('humanizeBytes matches go-humanize', () => {
    assert.equal(humanizeBytes(4194304), '4.2 MB');
    assert.equal(humanizeBytes(268435456), '268 MB');
    assert.equal(humanizeBytes(9), '9 B');
    assert.equal(humanizeBytes(1000), '1.0 kB');
    assert.equal(humanizeBytes(82854982), '83 MB');
  });
  it('ProtocolError: wrap keeps the classification, isProtocolError checks shape', () => {
    const e = new ProtocolError({
      kind: 'corrupt',
      status: 422,
      code: 'invalid_argument',
      reason: 'malformed_profile',
      message: 'x',
    });
    const w = e.wrap('p: ', { status: 400 });
    assert.equal(w.message, 'p: x');
    assert.equal(w.status, 400);
    assert.equal(w.cause, e);
    assert.ok(isProtocolError(w));
    assert.ok(isProtocolError({ ...w, name: 'ProtocolError', message: 'x' }));
    assert.ok(!isProtocolError(new Error('x')));
  });
});
