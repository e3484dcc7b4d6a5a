import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';

import { encodePprof, getLabel } from '../../model/index.js';
import { ProfileBuilder } from '../../model/index.js';
import { handInflate, type HandedInflate } from '../../protocol/index.js';
import { fixturePath } from '../../../test/support/paths.js';
import { isDecodeError } from '../decode-error.js';
import type { DecodeInput, FormPart } from '../decoder.js';
import { defaultLimits } from '../decoder.js';
import { decodeUpload } from '../registry.js';
import { ingestParams } from '../spec-fixtures.js';

const read = (f: string): Uint8Array =>
  new Uint8Array(readFileSync(fixturePath('pyroscope', 'pprof', f)));
const file = (name: string, data: Uint8Array | string): FormPart => ({
  name,
  filename: name,
  data: typeof data === 'string' ? new TextEncoder().encode(data) : data,
});
const form = (parts: FormPart[], name = 'app'): DecodeInput => ({
  format: 'pprof-form',
  body: new Uint8Array(0),
  parts,
  params: ingestParams(name),
  contentType: '',
  nowNanos: 1,
});
const rawPprof = (body: Uint8Array, name = 'app'): DecodeInput => ({
  format: 'pprof',
  body,
  params: ingestParams(name),
  contentType: '',
  nowNanos: 1,
});

describe('pprof decoder', () => {
  it('a form without a profile part stores nothing; parts without a filename do not count', () => {
    assert.deepEqual(decodeUpload(form([])), []);
    assert.deepEqual(decodeUpload(form([{ name: 'profile', data: read('cpu.pb.gz') }])), []);
    assert.deepEqual(decodeUpload(form([file('profile', new Uint8Array(0))])), []);
    // an empty prev_profile is absent, not a rejection
    assert.equal(
      decodeUpload(form([file('profile', read('cpu.pb.gz')), file('prev_profile', '')])).length,
      1,
    );
  });

  it('sample_type_config: replaces the defaults; null keeps them; bad JSON rejects', () => {
    const cfg =
      '{"contentions":{"display-name":"block_count"},"delay":{"display-name":"block_duration"}}';
    const [s] = decodeUpload(
      form([file('profile', read('req_4.pprof')), file('sample_type_config', cfg)]),
    );
    assert.equal(getLabel(s.labels, '__name__'), 'block');
    const [d] = decodeUpload(
      form([file('profile', read('req_4.pprof')), file('sample_type_config', 'null')]),
    );
    assert.equal(getLabel(d.labels, '__name__'), 'mutex');
    for (const bad of ['{', '[]', '{"x":{"units":1}}']) {
      assert.throws(
        () =>
          decodeUpload(
            form([file('profile', read('req_4.pprof')), file('sample_type_config', bad)]),
          ),
        (e) => isDecodeError(e) && e.reason === 'malformed_profile',
        bad,
      );
    }
  });

  it('keeps service_name from the labels, and adds no app_name', () => {
    const [s] = decodeUpload(rawPprof(read('cpu.pb.gz'), 'my.app{service_name=svc,__private=1}'));
    assert.equal(getLabel(s.labels, 'service_name'), 'svc');
    assert.equal(getLabel(s.labels, 'app_name'), undefined);
    assert.equal(getLabel(s.labels, '__private'), undefined);
  });

  it('reads raw and gzipped bytes alike; a body under 10 bytes fails as Go gzip.NewReader does', () => {
    const b = new ProfileBuilder().sampleType('samples', 'count');
    b.stack(['a'], [3]);
    const bytes = encodePprof(b.build());
    const [x] = decodeUpload(rawPprof(bytes));
    const [y] = decodeUpload(rawPprof(gzipSync(bytes)));
    assert.deepEqual(x.profile, y.profile);
    assert.throws(
      () => decodeUpload(rawPprof(new Uint8Array([0x0a, 0x02, 0x08, 0x01]))),
      (e) => isDecodeError(e) && e.kind === 'truncated',
    );
    assert.deepEqual(decodeUpload(rawPprof(new Uint8Array(0))), []);
  });

  it('enforces the decompressed size at the exact limit', () => {
    const bytes = read('heap-js.pprof');
    const at = { ...defaultLimits, maxDecompressedBytes: bytes.length };
    assert.equal(decodeUpload(rawPprof(gzipSync(bytes)), at).length, 1);
    assert.throws(
      () =>
        decodeUpload(rawPprof(gzipSync(bytes)), { ...at, maxDecompressedBytes: bytes.length - 1 }),
      (e) => isDecodeError(e) && e.reason === 'profile_size_limit',
    );
    assert.throws(
      () => decodeUpload(rawPprof(bytes), { ...at, maxDecompressedBytes: bytes.length - 1 }),
      (e) => isDecodeError(e) && e.reason === 'profile_size_limit',
    );
  });

  it('rejects over the samples limit (samples_limit)', () => {
    assert.throws(
      () => decodeUpload(rawPprof(read('heap')), { ...defaultLimits, maxSamples: 100 }),
      (e) => isDecodeError(e) && e.reason === 'samples_limit',
    );
  });

  it('rejects a sample type with a dash unless the .NET fix applies', () => {
    const b = new ProfileBuilder().sampleType('alloc-samples', 'count');
    b.stack(['a'], [1]);
    const bytes = encodePprof(b.build());
    assert.throws(
      () => decodeUpload(rawPprof(bytes)),
      (e) => isDecodeError(e) && e.kind === 'invalid_profile',
    );
    const fixed = decodeUpload({
      ...rawPprof(bytes),
      params: ingestParams('app', { spyName: 'dotnetspy' }),
    });
    assert.equal(fixed.length, 1);
  });

  it('checks the ingestion window only when its limits are set', () => {
    const b = new ProfileBuilder().sampleType('samples', 'count').time(1700000000000000000n, 0);
    b.stack(['a'], [1]);
    const bytes = encodePprof(b.build());
    const at = (nowNanos: bigint) => ({ ...rawPprof(bytes), nowNanos });
    const window = { ...defaultLimits, rejectOlderThanMs: 3600000, rejectNewerThanMs: 600000 };
    assert.equal(decodeUpload(at(1700000000000000000n + 3599999000000n), window).length, 1);
    assert.throws(
      () => decodeUpload(at(1700000000000000000n + 3600000000000n), window),
      (e) => isDecodeError(e) && e.reason === 'not_in_ingestion_window',
    );
    assert.throws(
      () => decodeUpload(at(1700000000000000000n - 600000000000n), window),
      (e) => isDecodeError(e) && e.reason === 'not_in_ingestion_window',
    );
    assert.equal(decodeUpload(at(1800000000000000000n)).length, 1);
  });

  it('reports label repairs on the series', () => {
    const [s] = decodeUpload(rawPprof(read('cpu.pb.gz'), `app{long=${'v'.repeat(3000)}}`));
    assert.equal(getLabel(s.labels, 'long')?.length, 2048);
    assert.deepEqual(s.repairs, [{ kind: 'value_truncated', name: 'long' }]);
  });
});

describe('push decoder', () => {
  const push = (series: DecodeInput['push']): DecodeInput => ({
    format: 'push',
    body: new Uint8Array(0),
    push: series,
    params: ingestParams('x'),
    contentType: 'application/proto',
    nowNanos: 1,
  });

  it('an empty request is rejected', () => {
    assert.throws(
      () => decodeUpload(push([])),
      (e) => isDecodeError(e) && e.kind === 'no_profiles',
    );
    assert.throws(
      () => decodeUpload(push([{ labels: [{ name: '__name__', value: 'x' }], samples: [] }])),
      (e) => isDecodeError(e) && e.kind === 'no_profiles',
    );
  });

  it('adds service_name=unknown_service, requires __name__', () => {
    const rawProfile = read('cpu.pb.gz');
    const [s] = decodeUpload(
      push([
        { labels: [{ name: '__name__', value: 'process_cpu' }], samples: [{ rawProfile, id: '' }] },
      ]),
    );
    assert.equal(getLabel(s.labels, 'service_name'), 'unknown_service');
    assert.equal(s.id, undefined);
    assert.throws(
      () =>
        decodeUpload(
          push([
            { labels: [{ name: 'service_name', value: 's' }], samples: [{ rawProfile, id: '' }] },
          ]),
        ),
      (e) => isDecodeError(e) && e.reason === 'invalid_labels',
    );
  });

  it('an empty service_name becomes unknown_service, counted as a repair', () => {
    const rawProfile = read('cpu.pb.gz');
    const labels = [
      { name: '__name__', value: 'process_cpu' },
      { name: 'service_name', value: '' },
    ];
    const [s] = decodeUpload(push([{ labels, samples: [{ rawProfile, id: 'x' }] }]));
    assert.equal(getLabel(s.labels, 'service_name'), 'unknown_service');
    assert.deepEqual(s.repairs, [{ kind: 'service_name_defaulted', name: 'service_name' }]);
  });

  it('caps the sum of decompressed profiles of one request', () => {
    const rawProfile = read('heap.pb.gz');
    const series = [
      {
        labels: [{ name: '__name__', value: 'memory' }],
        samples: [
          { rawProfile, id: '' },
          { rawProfile, id: '' },
        ],
      },
    ];
    assert.throws(
      () => decodeUpload(push(series), { ...defaultLimits, maxRequestDecompressedBytes: 150000 }),
      (e) => isDecodeError(e) && e.reason === 'body_size_limit_exceeded',
    );
    assert.equal(decodeUpload(push(series)).length, 2);
  });
});

// Inflate once per process (ADR 0012): ingest's scan hands what it inflated beside the message;
// the decoder takes it for the bytes it came from, and gives the same series either way.
describe('pprof decoder: a handed inflate (DecodeInput.inflated)', () => {
  const series = (input: DecodeInput, limits = defaultLimits) =>
    decodeUpload(input, limits).map((s) => ({ labels: s.labels, profile: s.profile }));
  const pushLabels = (service: string, metric: string) => [
    { name: '__name__', value: metric },
    { name: 'service_name', value: service },
  ];
  const handed = (gz: Uint8Array): HandedInflate => handInflate(gz, gunzipSync(gz))!;
  /** a handover of `gz` whose bytes are another profile: shows whether it was used */
  const forged = (gz: Uint8Array, other: Uint8Array): HandedInflate => ({
    ...handed(gz),
    raw: gunzipSync(other),
  });

  it('gives the same series with and without it (raw body, form, Push)', () => {
    for (const f of ['cpu.pb.gz', 'heap.pb.gz', 'nodejs-wall.pb.gz']) {
      const gz = read(f);
      const h = [handed(gz)];
      assert.deepEqual(series({ ...rawPprof(gz), inflated: h }), series(rawPprof(gz)), f);
      const parts = [file('profile', gz)];
      assert.deepEqual(series({ ...form(parts), inflated: h }), series(form(parts)), f);
    }
    const a = read('cpu.pb.gz');
    const b = read('heap.pb.gz');
    const input: DecodeInput = {
      format: 'push',
      body: new Uint8Array(0),
      push: [
        { labels: pushLabels('a', 'process_cpu'), samples: [{ rawProfile: a, id: '' }] },
        { labels: pushLabels('b', 'memory'), samples: [{ rawProfile: b, id: '' }] },
      ],
      params: ingestParams('x'),
      contentType: 'application/proto',
      nowNanos: 1,
    };
    // one sample handed, one not (null: ingest did not inflate it)
    assert.deepEqual(series({ ...input, inflated: [null, handed(b)] }), series(input));
  });

  it('is what the decoder reads for those bytes (nothing is inflated again)', () => {
    const gz = read('cpu.pb.gz');
    const other = read('heap.pb.gz');
    assert.deepEqual(
      series({ ...rawPprof(gz), inflated: [forged(gz, other)] }),
      series(rawPprof(other)),
    );
  });

  it('is ignored for other bytes: another length or trailer, or another position', () => {
    const gz = read('cpu.pb.gz');
    const other = read('heap.pb.gz');
    const wrong = forged(gz, other);
    const want = series(rawPprof(gz));
    assert.deepEqual(
      series({ ...rawPprof(gz), inflated: [{ ...wrong, gzipLength: gz.length + 1 }] }),
      want,
    );
    assert.deepEqual(series({ ...rawPprof(gz), inflated: [{ ...wrong, crc32: 0 }] }), want);
    assert.deepEqual(series({ ...rawPprof(gz), inflated: [{ ...wrong, isize: 1 }] }), want);
    assert.deepEqual(series({ ...rawPprof(gz), inflated: [null, wrong] }), want);
  });

  it('still meets the size cap: over it, the decoder inflates and refuses as without it', () => {
    const gz = read('heap.pb.gz');
    const limits = { ...defaultLimits, maxDecompressedBytes: gunzipSync(gz).length - 1 };
    for (const inflated of [[handed(gz)], undefined])
      assert.throws(
        () => decodeUpload({ ...rawPprof(gz), ...(inflated ? { inflated } : {}) }, limits),
        (e) => isDecodeError(e) && e.kind === 'too_large',
      );
  });
});
