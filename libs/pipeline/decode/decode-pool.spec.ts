import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { defaultLimits } from '../../decoders/index.js';
import { compactFlat, decodeCompact, encodeCompact } from '../../model/index.js';
import { decodePprofFlat } from '../../model/pprof/index.js';
import { fixturePath } from '../../../test/support/paths.js';
import { DecodePool } from './decode-pool.js';
import type { DecodeTask } from './decode-task.js';

function task(body: Buffer, format: DecodeTask['upload']['format'] = 'pprof'): DecodeTask {
  const now = String(BigInt(Date.now()) * 1_000_000n);
  return {
    upload: {
      uploadId: 'u1',
      tenant: 't',
      format,
      contentType: '',
      contentEncoding: '',
      params: {
        name: 'svc.cpu',
        appName: 'svc.cpu',
        labels: {},
        fromNanos: now,
        untilNanos: now,
        sampleRate: 100,
        spyName: 'gospy',
        units: 'samples',
        aggregationType: 'sum',
        formatParam: format,
      },
      receivedAtMs: Date.now(),
      body,
    },
    limits: defaultLimits,
    maxBodyBytes: 32 << 20,
    maxPartBytes: 4 << 20,
    rules: { globalTags: { cluster: 'c1' }, relabel: [], sampleRelabel: [] },
  };
}

describe('DecodePool', () => {
  const pool = new DecodePool({ workers: 1, thresholdBytes: 1024 });
  after(() => pool.close());

  it('decodes large uploads on a worker with the same result as inline', async () => {
    const body = readFileSync(fixturePath('pyroscope', 'pprof', 'heap'));
    assert.ok(pool.offloads(body.length));
    const inWorker = await pool.run(task(body));
    const inline = await new DecodePool({ workers: 0, thresholdBytes: 0 }).run(task(body));
    assert.ok(!('error' in inWorker) && !('error' in inline));
    assert.equal(inWorker.series.length, inline.series.length);
    assert.ok(inWorker.series.length > 0);
    for (let i = 0; i < inline.series.length; i++) {
      assert.deepEqual(inWorker.series[i].labels, inline.series[i].labels);
      assert.deepEqual(
        inWorker.series[i].parts.map((b) => Buffer.from(b)),
        inline.series[i].parts.map((b) => Buffer.from(b)),
      );
    }
    assert.ok(inline.series[0].labels.some((l) => l.name === 'cluster' && l.value === 'c1'));
  });

  it('returns failures as data with their reason, from a worker too', async () => {
    const r = await pool.run(
      task(Buffer.concat([Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f]), Buffer.alloc(2000, 1)])),
    );
    assert.ok('error' in r);
    assert.equal(r.error.reason, 'malformed_profile');
    assert.equal(r.error.permanent, true);
  });

  it('builds the store’s compact form on the worker (keepCompact) equal to the one the store builds from the pprof', async () => {
    const jfr = gunzipSync(
      readFileSync(
        fixturePath('pyroscope', 'jfr', 'cortex-dev-01__kafka-0__cpu_lock0_alloc0__0.jfr.gz'),
      ),
    );
    const t = { ...task(jfr, 'jfr'), keepCompact: true };
    assert.ok(pool.offloads(jfr.length));
    const r = await pool.run(t);
    assert.ok(!('error' in r));
    assert.equal(r.series.length, 5); // cpu, block, mutex and two of memory
    for (const s of r.series) {
      assert.equal(s.parts.length, 1);
      assert.ok(s.compact, 'every one-part series has its compact form');
      // moved, not copied: the bytes own their buffer (nothing else was detached with it)
      assert.equal(s.compact.byteLength, s.compact.buffer.byteLength);
      assert.equal(s.profile, undefined);
      const fromPprof = encodeCompact(compactFlat(decodePprofFlat(s.parts[0])));
      assert.deepEqual(decodeCompact(Buffer.from(s.compact)), decodeCompact(fromPprof));
    }
    // without the flag nothing extra comes back
    const plain = await pool.run(task(jfr, 'jfr'));
    assert.ok(!('error' in plain));
    assert.ok(plain.series.every((s) => s.compact === undefined));
  });

  it('leaves the caller’s buffer usable (copies before transferring)', async () => {
    const body = readFileSync(fixturePath('pyroscope', 'pprof', 'heap'));
    const copy = Buffer.from(body);
    await pool.run(task(body));
    assert.ok(body.equals(copy));
  });
});

// 32 MiB, not 16: the heap fixture's decode fitted 16 MiB only narrowly and failed under a loaded
// machine (regression: decode-pool heap-bound flake in npm run check)
describe('DecodePool with a worker heap bound', () => {
  const pool = new DecodePool({ workers: 1, thresholdBytes: 1024, memoryMb: 32 });
  after(() => pool.close());

  it('refuses for good, as profile_size_limit, an upload whose decode needs more than the bound, and decodes the next one', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 120_000; i++)
      lines.push(
        `main;com.example.generated.Service${i}.handle;com.example.generated.Lambda$${i}.apply;leaf${i} 1`,
      );
    const huge = task(Buffer.from(lines.join('\n')), 'groups');
    huge.limits = { ...defaultLimits, maxSamples: 1_000_000 };
    const r = await pool.run(huge);
    assert.ok('error' in r, 'the decode was refused');
    assert.equal(r.error.reason, 'profile_size_limit');
    assert.equal(r.error.permanent, true);
    assert.match(r.error.message, /EMBER_DECODE_WORKER_MEMORY_MB/);
    // piscina replaced the worker: the pool goes on
    const ok = await pool.run(task(readFileSync(fixturePath('pyroscope', 'pprof', 'heap'))));
    assert.ok(!('error' in ok), JSON.stringify('error' in ok ? ok.error : ''));
  });
});
