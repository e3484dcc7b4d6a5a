import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isLegacyLabelName, parseClientCapabilities } from './client-capabilities.js';
import { MediaTypeError } from './media-type.js';

// pkg/featureflags/client_capability.go parseClientCapabilities

describe('client capabilities from Accept', () => {
  it('allow-utf8-labelnames=true on any media range', () => {
    assert.equal(parseClientCapabilities(undefined).allowUtf8LabelNames, false);
    assert.equal(parseClientCapabilities('*/*').allowUtf8LabelNames, false);
    assert.equal(
      parseClientCapabilities('application/json, */*; allow-utf8-labelnames=true')
        .allowUtf8LabelNames,
      true,
    );
    assert.equal(
      parseClientCapabilities(['text/plain', '*/*;allow-utf8-labelnames=false'])
        .allowUtf8LabelNames,
      false,
    );
  });

  it("a range that does not parse is Go's error", () => {
    assert.throws(() => parseClientCapabilities('application/json,,*/*'), {
      name: 'MediaTypeError',
      message: 'mime: no media type',
    });
  });

  it('fuzz: never throws anything but MediaTypeError', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (s) => {
        try {
          parseClientCapabilities(s);
        } catch (err) {
          assert.ok(err instanceof MediaTypeError, String(err));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('legacy label names', () => {
    assert.ok(isLegacyLabelName('service_name'));
    assert.ok(isLegacyLabelName('__name__'));
    assert.ok(!isLegacyLabelName('otel.scope.name'));
    assert.ok(!isLegacyLabelName('1a'));
    assert.ok(!isLegacyLabelName(''));
  });
});
