import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { PermanentError, RetryableError } from '../../model/index.js';
import type { NormalizedSeries } from '../../queue/index.js';
import { SendingChain } from '../sending/sending-chain.js';
import { PyroscopeBackend, type PyroscopeBackendSettings } from './pyroscope-backend.js';
import { classifyPushFailure, parseRetryAfter, sampleIdFor } from './push-client.js';
import { startFakePyroscope, type FakePyroscope } from './testing.js';

function series(id: string, tenant = 't1', bytes = 10): NormalizedSeries {
  return {
    seriesId: id,
    uploadId: id.split(':')[0],
    tenant,
    labels: [
      { name: '__name__', value: 'process_cpu' },
      { name: 'service_name', value: 'svc' },
    ],
    profileTypeIds: ['process_cpu:cpu:nanoseconds:cpu:nanoseconds'],
    startMs: Date.now(),
    endMs: Date.now(),
    pprof: Buffer.alloc(bytes, 7),
  };
}

describe('Pyroscope backend (Push over Connect)', () => {
  let fake: FakePyroscope;
  const base = (over: Partial<PyroscopeBackendSettings> = {}): PyroscopeBackend =>
    new PyroscopeBackend({
      name: 'pyroscope',
      url: fake.url,
      tenantOrgIds: {},
      auth: null,
      headers: {},
      compression: 'gzip',
      maxRequestBytes: 1 << 20,
      ...over,
    });
  before(async () => {
    fake = await startFakePyroscope();
  });
  after(() => fake.close());
  beforeEach(() => {
    fake.received.length = 0;
    fake.accepted.length = 0;
    fake.respond = () => ({ status: 200 });
  });

  it('pushes gzip binary proto with tenant, credentials and extra headers', async () => {
    const b = base({
      auth: { basic: { username: 'u', password: 'p' } },
      headers: { 'X-Extra': 'yes' },
      tenantOrgIds: { t2: 'org-two', t3: '' },
    });
    await b.send([series('a:0'), series('a:1'), series('b:0', 't2'), series('c:0', 't3')]);
    assert.equal(fake.received.length, 3);
    const [r1, r2, r3] = fake.received;
    assert.equal(r1.headers['content-type'], 'application/proto');
    assert.equal(r1.headers['content-encoding'], 'gzip');
    assert.equal(r1.headers['connect-protocol-version'], '1');
    assert.equal(r1.headers['authorization'], `Basic ${Buffer.from('u:p').toString('base64')}`);
    assert.equal(r1.headers['x-extra'], 'yes');
    assert.equal(r1.headers['x-scope-orgid'], 't1');
    assert.equal(r2.headers['x-scope-orgid'], 'org-two');
    assert.equal(r3.headers['x-scope-orgid'], undefined);
    assert.equal(r1.request.series.length, 2);
    const s0 = r1.request.series[0];
    assert.deepEqual(s0.labels, [
      { name: '__name__', value: 'process_cpu' },
      { name: 'service_name', value: 'svc' },
    ]);
    assert.equal(s0.samples.length, 1);
    assert.deepEqual(Buffer.from(s0.samples[0].rawProfile), Buffer.alloc(10, 7));
    assert.equal(s0.samples[0].id, sampleIdFor('t1', 'a:0'));
    assert.match(
      s0.samples[0].id,
      /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });

  it('pushes the parts of a split series in one request as one series with a sample per part', async () => {
    const part = (k: number, n: number): NormalizedSeries => ({
      ...series(`p:0#${k}/${n}`),
      profileId: 'p:0',
      part: { index: k, count: n },
      pprof: Buffer.alloc(10, k),
    });
    await base().send([part(1, 3), series('q:0'), part(2, 3), part(3, 3)]);
    assert.equal(fake.received.length, 1);
    const got = fake.received[0].request.series;
    assert.equal(got.length, 2);
    assert.deepEqual(
      got[0].samples.map((x) => Buffer.from(x.rawProfile)[0]),
      [1, 2, 3],
    );
    assert.deepEqual(
      got[0].samples.map((x) => x.id),
      [1, 2, 3].map((k) => sampleIdFor('t1', `p:0#${k}/3`)),
    );
    assert.equal(got[1].samples.length, 1);
  });

  it('sends a bearer token', async () => {
    await base({ auth: { bearer: 'tok' } }).send([series('x:0')]);
    assert.equal(fake.received[0].headers['authorization'], 'Bearer tok');
  });

  it('splits a batch that would exceed the request size, and does not resend acknowledged parts', async () => {
    const b = base({ maxRequestBytes: 2_500 });
    let n = 0;
    fake.respond = () =>
      ++n === 2
        ? { status: 503, body: '{"code":"unavailable","message":"busy"}' }
        : { status: 200 };
    const batch = [series('s:0', 't1', 1000), series('s:1', 't1', 1000), series('s:2', 't1', 1000)];
    await assert.rejects(b.send(batch), RetryableError);
    await b.send(batch);
    const ids = fake.accepted.flatMap((r) => r.request.series.map((s) => s.samples[0].id));
    assert.deepEqual(
      ids,
      ['s:0', 's:1', 's:2'].map((id) => sampleIdFor('t1', id)),
    );
    assert.ok(fake.received.every((r) => r.request.series.length <= 2));
  });

  it('classifies answers: 4xx permanent (window reason), 408/429/5xx retryable with Retry-After', async () => {
    fake.respond = () => ({
      status: 400,
      body: JSON.stringify({
        code: 'invalid_argument',
        message: "profile with labels '{}' is outside of ingestion window (profile timestamp: x)",
      }),
    });
    await assert.rejects(
      base().send([series('w:0')]),
      (e) => e instanceof PermanentError && e.reason === 'not_in_ingestion_window',
    );
    fake.respond = () => ({
      status: 401,
      body: '{"code":"unauthenticated","message":"no org id"}',
    });
    await assert.rejects(
      base().send([series('w:1')]),
      (e) =>
        e instanceof PermanentError &&
        e.reason === 'export_rejected' &&
        /unauthenticated: no org id/.test(e.message),
    );
    fake.respond = () => ({
      status: 429,
      headers: { 'retry-after': '3' },
      body: '{"code":"resource_exhausted"}',
    });
    await assert.rejects(
      base().send([series('w:2')]),
      (e) => e instanceof RetryableError && e.retryAfterMs === 3000,
    );
    assert.ok(classifyPushFailure(408, '', null, 'x') instanceof RetryableError);
    assert.ok(
      classifyPushFailure(502, '<html>bad gateway</html>', null, 'x') instanceof RetryableError,
    );
    assert.ok(classifyPushFailure(413, '', null, 'x') instanceof PermanentError);
    assert.equal(
      parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:27:58 GMT')),
      2000,
    );
    assert.equal(parseRetryAfter('soon'), undefined);
  });

  it('treats an unreachable endpoint as retryable', async () => {
    const b = new PyroscopeBackend({
      name: 'down',
      url: 'http://127.0.0.1:9',
      tenantOrgIds: {},
      auth: null,
      headers: {},
      compression: 'none',
      maxRequestBytes: 1 << 20,
    });
    await assert.rejects(b.send([series('d:0')]), RetryableError);
  });

  it('through the chain: outlives a 503 spell and a 429 with Retry-After, and times out a hung server', async () => {
    let n = 0;
    fake.respond = async () => {
      n++;
      if (n <= 2) return { status: 503, body: '{"code":"unavailable","message":"down"}' };
      if (n === 3)
        return {
          status: 429,
          headers: { 'retry-after': '1' },
          body: '{"code":"resource_exhausted","message":"slow down"}',
        };
      if (n === 4) {
        await new Promise((r) => setTimeout(r, 400));
        return { status: 200 };
      }
      return { status: 200 };
    };
    const b = base({
      sending: {
        timeoutMs: 200,
        retry: { initialIntervalMs: 10, maxIntervalMs: 50, maxElapsedMs: 10_000 },
      },
    });
    const chain = new SendingChain(b);
    const t0 = Date.now();
    const out = await chain.send([series('c:0')]);
    assert.deepEqual(out, [{ kind: 'sent' }]);
    assert.ok(Date.now() - t0 >= 1000, 'honoured Retry-After: 1');
    assert.ok(n >= 5, `${n} attempts`); // more only if the loaded machine made another attempt time out
    await chain.close();
  });
});
