import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { ProfileBuilder, encodePprof } from '../../model/index.js';
import type { IngestParams } from '../../protocol/index.js';
import { isDecodeError } from '../decode-error.js';
import { defaultLimits, type DecodeInput, type DecodedSeries } from '../decoder.js';
import { DecoderRegistry, decodeUpload, decodeUploadEach } from '../registry.js';
import { pushDecoder } from './push.decoder.js';

const params: IngestParams = {
  name: 'push',
  appName: 'push',
  labels: {},
  fromNanos: '0',
  untilNanos: '0',
  sampleRate: 0,
  spyName: 'push',
  units: '',
  aggregationType: '',
  formatParam: '',
};

function pprof(i: number, split: boolean): Uint8Array {
  const b = new ProfileBuilder()
    .sampleType('cpu', 'nanoseconds')
    .period('cpu', 'nanoseconds', 10_000_000)
    .time(1_700_000_000_000_000_000n, 10_000_000_000n);
  if (split) {
    b.stack(['main', `work${i}`], [10 + i], [['region', 'a']]);
    b.stack(['main', 'idle'], [20], [['region', 'b']]);
  } else b.stack(['main', `work${i}`], [10 + i]);
  return gzipSync(encodePprof(b.build()));
}

function pushInput(n: number): DecodeInput {
  return {
    format: 'push',
    body: new Uint8Array(0),
    params,
    contentType: 'application/proto',
    nowNanos: 1_700_000_000_000_000_000n,
    push: Array.from({ length: n }, (_, i) => ({
      labels: [
        { name: '__name__', value: 'process_cpu' },
        { name: 'service_name', value: 'svc' },
        { name: 'i', value: String(i) },
      ],
      samples: [{ rawProfile: pprof(i, i % 2 === 0), id: '' }],
    })),
  };
}

const view = (s: DecodedSeries) => ({
  labels: s.labels,
  samples: s.flat.samples.count,
  total: [...s.flat.samples.val.v].reduce((a, b) => a + b, 0),
});

describe('push decoder, series by series', () => {
  it('emits the series of decode, in its order, numbered from 0', () => {
    const input = pushInput(7);
    const whole = decodeUpload(input, defaultLimits);
    assert.equal(whole.length, 11, 'four of the seven profiles split in two');
    const each: DecodedSeries[] = [];
    decodeUploadEach(input, defaultLimits, (s, i) => {
      assert.equal(i, each.length);
      each.push(s);
    });
    assert.deepEqual(each.map(view), whole.map(view));
  });

  it('holds the request size limit across the decodes that share a requestBytes count', () => {
    const full = pushInput(6);
    const whole = { counted: 0 };
    decodeUploadEach({ ...full, requestBytes: whole }, defaultLimits, () => {});
    const inflated = whole.counted;
    assert.ok(inflated > 0);
    // two units of three, one count: the second unit sees the first one's bytes
    const limits = { ...defaultLimits, maxRequestDecompressedBytes: inflated - 1 };
    const shared = { counted: 0 };
    const first = { ...full, push: full.push!.slice(0, 3), requestBytes: shared };
    const second = { ...full, push: full.push!.slice(3), requestBytes: shared };
    decodeUploadEach(first, limits, () => {});
    assert.ok(shared.counted > 0 && shared.counted < inflated);
    assert.throws(
      () => decodeUploadEach(second, limits, () => {}),
      (err: unknown) => isDecodeError(err) && err.kind === 'body_too_large',
    );
    // each unit alone is under the limit: without the shared count nothing would be refused
    decodeUploadEach({ ...second, requestBytes: { counted: 0 } }, limits, () => {});
  });

  it('passes an exception thrown by emit through as it is, and still wraps a decoder bug', () => {
    const registry = new DecoderRegistry([pushDecoder]);
    const mine = new Error('the caller failed');
    assert.throws(
      () =>
        registry.decodeEach(pushInput(2), defaultLimits, () => {
          throw mine;
        }),
      (err: unknown) => err === mine,
    );
    const buggy = new DecoderRegistry([
      {
        formats: ['push'],
        decode: () => {
          throw new TypeError('bug');
        },
      },
    ]);
    assert.throws(
      () => buggy.decodeEach(pushInput(1), defaultLimits, () => {}),
      (err: unknown) => isDecodeError(err) && err.kind === 'malformed',
    );
  });
});
