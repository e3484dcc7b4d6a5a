import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SpanSelectorError, canonicalSpanId, parseSpanSelector } from './span-id.js';

describe('span ids (pkg/pprof decodeSpanID, pkg/model NewSpanSelector)', () => {
  it('a span is 16 hex digits, kept in lower case', () => {
    assert.equal(canonicalSpanId('9A3F1C0E5B7D2A41'), '9a3f1c0e5b7d2a41');
    assert.equal(canonicalSpanId('239'), undefined);
    assert.equal(canonicalSpanId('zzzzzzzzzzzzzzzz'), undefined);
    assert.equal(canonicalSpanId('9a3f1c0e5b7d2a41 '), undefined);
  });

  it("refuses a selector with Go's messages", () => {
    assert.throws(() => parseSpanSelector(['239']), {
      name: 'SpanSelectorError',
      message: 'invalid span id length: "239"',
    });
    assert.throws(() => parseSpanSelector(['00000000000000g0']), {
      message: "encoding/hex: invalid byte: U+0067 'g'",
    });
    // 8 two-byte characters are 16 bytes: the length passes, the first byte is not hex
    assert.throws(() => parseSpanSelector(['éééééééé']), {
      message: "encoding/hex: invalid byte: U+00C3 'Ã'",
    });
    assert.deepEqual(parseSpanSelector(['ABCDEF0123456789']), ['abcdef0123456789']);
    assert.deepEqual(parseSpanSelector([]), []);
  });

  it('property: accepted exactly when canonicalSpanId accepts', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), (s) => {
        let ok = true;
        try {
          parseSpanSelector([s]);
        } catch (err) {
          assert.ok(err instanceof SpanSelectorError);
          ok = false;
        }
        assert.equal(ok, canonicalSpanId(s) !== undefined);
      }),
    );
  });
});
