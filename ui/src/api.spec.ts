import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { idToHex, spansOfTrace } from './api.js';

// The Traces view reads /api/traces/{id} in Tempo's JSON: ids in base64 (gogo jsonpb's bytes),
// status codes by enum name. The waterfall and the span profiles need hex span ids.

const hexOf = (b64: string) => Buffer.from(b64, 'base64').toString('hex');

describe("spansOfTrace on Tempo's JSON", () => {
  it('turns base64 ids into hex and enum names into status codes', () => {
    const root = Buffer.from('00f067aa0ba902b7', 'hex').toString('base64');
    const child = Buffer.from('b7ad6b7169203331', 'hex').toString('base64');
    const spans = spansOfTrace({
      batches: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shop' } }] },
          scopeSpans: [
            {
              spans: [
                {
                  spanId: child,
                  parentSpanId: root,
                  name: 'SELECT',
                  startTimeUnixNano: '1700000000500000000',
                  endTimeUnixNano: '1700000000600000000',
                  status: { code: 'STATUS_CODE_ERROR' },
                },
                {
                  spanId: root,
                  name: 'GET /cart',
                  startTimeUnixNano: '1700000000000000000',
                  endTimeUnixNano: '1700000001000000000',
                },
              ],
            },
          ],
        },
      ],
    });
    assert.deepEqual(
      spans.map((s) => [s.spanId, s.parentSpanId, s.name, s.service, s.status, s.durationMs]),
      [
        ['00f067aa0ba902b7', '', 'GET /cart', 'shop', 0, 1000],
        ['b7ad6b7169203331', '00f067aa0ba902b7', 'SELECT', 'shop', 2, 100],
      ],
    );
  });

  it('leaves hex ids as they are, and decodes 16-byte trace ids too', () => {
    assert.equal(idToHex('00F067AA0BA902B7'), '00f067aa0ba902b7');
    const trace = Buffer.from('4bf92f3577b34da6a3ce929d0e0e4736', 'hex').toString('base64');
    assert.equal(trace, 'S/kvNXezTaajzpKdDg5HNg==');
    assert.equal(idToHex(trace), hexOf(trace));
    assert.equal(idToHex(trace), '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.equal(idToHex(undefined), '');
  });
});
