import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';

import { getLabel, profileTypeIds } from '../model/index.js';
import { fixturePath } from '../../test/support/paths.js';
import { isDecodeError } from './decode-error.js';
import { decodeUpload } from './registry.js';
import { ingestParams } from './spec-fixtures.js';
import { collapsed, total } from './spec-stacks.js';
import { decodePprofBytes } from './pprof/pprof-bytes.js';
import type { DecodedSeries } from './decoder.js';
import { PYROSCOPE_JFR_THREAD_OF_HASH } from './jfr/testing.js';

const read = (...p: string[]): Uint8Array =>
  new Uint8Array(readFileSync(fixturePath('pyroscope', ...p)));

const CT =
  /Content-Type: (multipart\/form-data; boundary=\S+)/.exec(
    readFileSync(
      fixturePath('pyroscope', 'multipart', 'java-jfr-itimer-with-labels.request.txt'),
      'utf8',
    ),
  )?.[1] ?? '';

describe('JFR front (registry adapter)', () => {
  it('java-jfr-itimer-with-labels.multipart.bin: cpu series per thread_name, jfr_event=itimer', () => {
    const series = decodeUpload({
      format: 'jfr-form',
      body: read('multipart', 'java-jfr-itimer-with-labels.multipart.bin'),
      params: ingestParams('kafka.app{service_name=svc}', {
        fromNanos: '1706241880000000000',
        untilNanos: '1706241890000000000',
        spyName: 'javaspy',
      }),
      contentType: CT,
      nowNanos: 1706241885000000000n,
    });
    assert.ok(series.length > 1);
    let sum = 0n;
    for (const s of series) {
      assert.equal(getLabel(s.labels, '__name__'), 'process_cpu');
      assert.equal(getLabel(s.labels, 'jfr_event'), 'itimer');
      assert.equal(getLabel(s.labels, 'service_name'), 'svc');
      assert.equal(getLabel(s.labels, 'app_name'), 'kafka.app');
      assert.equal(getLabel(s.labels, 'pyroscope_spy'), 'javaspy');
      assert.deepEqual(profileTypeIds('process_cpu', s.profile), [
        'process_cpu:cpu:nanoseconds:cpu:nanoseconds',
      ]);
      sum += total(s.profile);
    }
    assert.equal(sum, 21880000000n);
    // Per-thread totals of Pyroscope's query goldens (fixtures README, golden/pyroscope-jfr).
    const byThread = new Map(
      series.map((s) => [getLabel(s.labels, 'thread_name'), total(s.profile)]),
    );
    assert.deepEqual(
      byThread,
      new Map([
        [undefined, 21880000000n - 2150000000n - 1040000000n - 4710000000n - 1680000000n],
        ['pool-2-thread-7', 2150000000n],
        ['pool-2-thread-5', 1040000000n],
        ['pool-2-thread-1', 4710000000n],
        ['pool-2-thread-3', 1680000000n],
      ]),
    );
  });

  it('a raw (ungzipped) recording decodes; a gzipped raw body is rejected as upstream does', () => {
    const gz = read('jfr', 'cortex-dev-01__kafka-0__cpu__0.jfr.gz');
    const input = (body: Uint8Array) => ({
      format: 'jfr' as const,
      body,
      params: ingestParams('app', {
        fromNanos: '1706241880000000000',
        untilNanos: '1706241890000000000',
      }),
      contentType: 'application/octet-stream',
      nowNanos: 1706241885000000000n,
    });
    const [s] = decodeUpload(input(new Uint8Array(gunzipSync(gz))));
    assert.equal(getLabel(s.labels, 'jfr_event'), 'cpu');
    assert.equal(total(s.profile), 4780000000n);
    assert.throws(() => decodeUpload(input(gz)), isDecodeError);
  });

  it('dump2 + labels: wall and cpu per thread_name as Pyroscope; profile_id stays on samples as span_id', () => {
    const boundary = 'emberflow-test-boundary';
    const part = (name: string, data: Uint8Array): Buffer =>
      Buffer.concat([
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${name}"\r\n` +
            'Content-Type: application/octet-stream\r\n\r\n',
        ),
        data,
        Buffer.from('\r\n'),
      ]);
    const body = Buffer.concat([
      part('jfr', read('jfr', 'dump2.jfr.gz')),
      part('labels', read('jfr', 'dump2.labels.pb.gz')),
      Buffer.from(`--${boundary}--\r\n`),
    ]);
    const series = decodeUpload({
      format: 'jfr-form',
      body: new Uint8Array(body),
      params: ingestParams('app', {
        fromNanos: '1706241880000000000',
        untilNanos: '1706241890000000000',
      }),
      contentType: `multipart/form-data; boundary=${boundary}`,
      nowNanos: 1706241885000000000n,
    });
    const sum = (metric: string, thread?: string): bigint =>
      series
        .filter((s) => getLabel(s.labels, '__name__') === metric)
        .filter((s) => thread === undefined || getLabel(s.labels, 'thread_name') === thread)
        .reduce((a, s) => a + total(s.profile), 0n);
    assert.equal(sum('process_cpu'), 33580000000n);
    assert.equal(sum('wall'), 147230000000n);
    for (let t = 1; t <= 8; t++) {
      const want = t === 6 ? 3050000000n : 4350000000n;
      assert.equal(sum('process_cpu', `pool-2-thread-${t}`), want, `cpu thread ${t}`);
      assert.equal(sum('wall', `pool-2-thread-${t}`), want, `wall thread ${t}`);
    }
    let spans = 0;
    for (const s of series) {
      assert.equal(getLabel(s.labels, 'profile_id'), undefined);
      assert.equal(getLabel(s.labels, 'span_id'), undefined);
      const key = s.profile.stringTable.indexOf('span_id');
      for (const smp of s.profile.sample) spans += smp.label.filter((l) => l.key === key).length;
    }
    assert.ok(spans > 0);
  });
});

// Pyroscope's own answers (SelectMergeProfile after ingesting each JFR through /ingest): stacks
// and values per profile type, for the whole service and per thread_name (fixtures README).
function multipart(parts: [string, Uint8Array][]): { body: Uint8Array; contentType: string } {
  const boundary = 'emberflow-golden';
  const chunks: Buffer[] = [];
  for (const [name, data] of parts) {
    chunks.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${name}"\r\n\r\n`,
      ),
      Buffer.from(data),
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return {
    body: new Uint8Array(Buffer.concat(chunks)),
    contentType: `multipart/form-data; boundary=${boundary}`,
  };
}

describe('JFR through the pipeline equals Pyroscope query goldens', () => {
  const dir = fixturePath('pyroscope', 'golden', 'pyroscope-jfr');
  const goldens = readdirSync(dir).filter((f) => f.endsWith('.pb.gz'));
  const cache = new Map<string, DecodedSeries[]>();
  const decoded = (jfr: string): DecodedSeries[] => {
    let s = cache.get(jfr);
    if (s === undefined) {
      const stem = jfr.replace(/\.jfr\.gz$/, '');
      const parts: [string, Uint8Array][] = [['jfr', read('jfr', jfr)]];
      if (stem === 'dump1' || stem === 'dump2')
        parts.push(['labels', read('jfr', `${stem}.labels.pb.gz`)]);
      const { body, contentType } = multipart(parts);
      s = decodeUpload({
        format: 'jfr-form',
        body,
        params: ingestParams('app', {
          fromNanos: '1706241880000000000',
          untilNanos: '1706241890000000000',
        }),
        contentType,
        nowNanos: 1706241885000000000n,
      });
      cache.set(jfr, s);
    }
    return s;
  };
  for (const g of goldens) {
    const m = /^(.+\.jfr\.gz)\.(.+)\.(\d+)\.pb\.gz$/.exec(g);
    if (!m) continue;
    const [, jfr, typeUnderscored, hash] = m;
    it(g, () => {
      const thread = PYROSCOPE_JFR_THREAD_OF_HASH[hash];
      const want = collapsed(
        decodePprofBytes(readFileSync(`${dir}/${g}`), { maxDecompressedBytes: 0, maxSamples: 0 }),
      );
      const got = new Map<string, number>();
      for (const s of decoded(jfr)) {
        if (thread !== undefined && getLabel(s.labels, 'thread_name') !== thread) continue;
        const ids = profileTypeIds(getLabel(s.labels, '__name__')!, s.profile);
        const i = ids.findIndex((id) => id.replaceAll(':', '_') === typeUnderscored);
        if (i < 0) continue;
        for (const [k, v] of collapsed(s.profile, i))
          if (v !== 0) got.set(k, (got.get(k) ?? 0) + v);
      }
      assert.deepEqual(got, want);
    });
  }
});
