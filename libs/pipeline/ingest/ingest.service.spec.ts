import { gzipSync } from 'node:zlib';
import { ProfileBuilder, encodePprof } from '../../model/index.js';
import { encodePushRequest } from '../../protocol/index.js';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { defaultLimits } from '../../decoders/index.js';
import {
  goPprofForm,
  pushRequest,
  type AgentRequest,
} from '../../../test/support/agent-requests.js';
import { fixturePath } from '../../../test/support/paths.js';
import { runDecodeTask, type DecodeTaskUpload } from '../decode/decode-task.js';
import { MemoryStore } from '../../cache/index.js';
import { RetryableError } from '../../model/index.js';
import { Metrics, Readiness } from '../../observability/index.js';
import {
  MemoryBroker,
  TOPICS,
  decodeRawUpload,
  topicSpecs,
  type IncomingMessage,
} from '../../queue/index.js';
import { loadConfig } from '../../runtime/config.js';
import { HttpFailure } from '../core/http-error.js';
import { IngestService } from './ingest.service.js';

async function setup(env: Record<string, string> = {}, localPayloads = true) {
  const config = loadConfig(env);
  const broker = new MemoryBroker({ maxBytes: 1 << 24 });
  // a broker that hands nothing over beside a message (as Kafka)
  if (!localPayloads) Object.defineProperty(broker, 'localPayloads', { value: false });
  await broker.start(
    topicSpecs({ rawPartitions: 1, normalizedPartitions: 1, maxUploadBytes: 8 << 20 }),
  );
  const got: IncomingMessage[] = [];
  await broker.subscribe({
    groupId: 'g',
    topic: TOPICS.raw,
    maxBatchSize: 10,
    handler: async (b) => void got.push(...b.messages),
  });
  const store = new MemoryStore();
  const readiness = new Readiness();
  const svc = new IngestService(config, broker, store, new Metrics(), readiness);
  return { svc, broker, got, store, readiness };
}

const settle = () => new Promise((r) => setTimeout(r, 20));

describe('IngestService', () => {
  it('refuses new uploads with 503 once shutdown began (so accepted ones can be finished)', async () => {
    const { svc, got, readiness } = await setup();
    readiness.startDraining();
    await assert.rejects(
      svc.accept({
        tenant: 't1',
        rawQuery: 'name=app.cpu&from=1700000000&until=1700000010',
        contentType: '',
        contentEncoding: '',
        body: Buffer.from('main;a 1\n'),
      }),
      (err) =>
        err instanceof HttpFailure && err.status === 503 && err.headers['retry-after'] === '5',
    );
    await settle();
    assert.equal(got.length, 0);
    assert.equal((await readiness.evaluate()).ok, false);
  });

  it('publishes the untouched body with its metadata', async () => {
    const { svc, got } = await setup();
    // a real (gzipped) pprof: since the ingest-time structural scan (ADR 0013) a body that is
    // no pprof is refused with 422 before it is published
    const body = gzipSync(
      encodePprof(
        new ProfileBuilder().sampleType('cpu', 'nanoseconds').stack(['main'], [1]).build(),
      ),
    );
    const out = await svc.accept({
      tenant: 't1',
      rawQuery:
        'name=app.cpu%7Benv%3Ddev%7D&from=1700000000&until=1700000010&spyName=gospy&format=pprof',
      contentType: 'application/octet-stream',
      contentEncoding: '',
      body,
    });
    await settle();
    assert.equal(out.duplicate, false);
    assert.equal(got.length, 1);
    const u = decodeRawUpload(got[0]);
    assert.deepEqual(u.body, body);
    assert.equal(u.tenant, 't1');
    assert.equal(u.format, 'pprof');
    assert.equal(u.params.appName, 'app.cpu');
    assert.deepEqual(u.params.labels, { env: 'dev' });
    assert.equal(u.params.fromNanos, '1700000000000000000');
    assert.equal(u.params.spyName, 'gospy');
    assert.equal(u.uploadId, out.uploadId);
  });

  it('answers a duplicate without publishing it again', async () => {
    const { svc, got } = await setup();
    const input = {
      tenant: 't',
      rawQuery: 'name=a&from=1&until=2',
      contentType: '',
      contentEncoding: '',
      body: Buffer.from('a 1'),
    };
    assert.equal((await svc.accept(input)).duplicate, false);
    assert.equal((await svc.accept(input)).duplicate, true);
    assert.equal(
      (await svc.accept({ ...input, tenant: 'other' })).duplicate,
      false,
      'dedupe is per tenant',
    );
    await settle();
    assert.equal(got.length, 2);
  });

  it('maps protocol errors to their status and message', async () => {
    const { svc } = await setup();
    await assert.rejects(
      svc.accept({
        tenant: 't',
        rawQuery: 'name=',
        contentType: '',
        contentEncoding: '',
        body: Buffer.from(''),
      }),
      (e) =>
        e instanceof HttpFailure && e.status === 400 && /service name is required/.test(e.message),
    );
  });

  it('answers 503 when the queue refuses, and forgets the dedupe claim so the retry passes', async () => {
    const { svc, broker } = await setup();
    const input = {
      tenant: 't',
      rawQuery: 'name=a&from=1&until=2',
      contentType: '',
      contentEncoding: '',
      body: Buffer.from('a 1'),
    };
    const publish = broker.publish.bind(broker);
    broker.publish = async () => {
      throw new RetryableError('broker down');
    };
    await assert.rejects(
      svc.accept(input),
      (e) => e instanceof HttpFailure && e.status === 503 && e.headers['retry-after'] === '5',
    );
    broker.publish = publish;
    assert.equal((await svc.accept(input)).duplicate, false);
  });

  it('regression: a publish written but timed out, then retried by the agent, carries the same upload id (stored once, not twice)', async () => {
    const { svc, broker, got } = await setup();
    const input = {
      tenant: 't',
      rawQuery: 'name=a&from=10&until=20',
      contentType: '',
      contentEncoding: '',
      body: Buffer.from('main;a 1'),
    };
    const publish = broker.publish.bind(broker);
    // the broker holds the record, but the acknowledgement never arrives (a broker restart)
    broker.publish = async (topic, messages) => {
      await publish(topic, messages);
      throw new RetryableError('request timed out');
    };
    await assert.rejects(svc.accept(input), (e) => e instanceof HttpFailure && e.status === 503);
    broker.publish = publish;
    const retry = await svc.accept(input);
    assert.equal(retry.duplicate, false);
    await settle();
    assert.equal(got.length, 2, 'both copies are in the topic');
    assert.equal(decodeRawUpload(got[0]).uploadId, decodeRawUpload(got[1]).uploadId);
    assert.equal(decodeRawUpload(got[1]).uploadId, retry.uploadId);
    // a different upload gets a different id
    const other = await svc.accept({ ...input, rawQuery: 'name=a&from=20&until=30' });
    assert.notEqual(other.uploadId, retry.uploadId);
  });

  it('limits each tenant’s rate with a token bucket and says when to retry', async () => {
    const { svc } = await setup();
    // default: 4 MiB/s with a 4 MiB burst (the burst is at least the rate)
    const big = Buffer.alloc(3 * 1024 * 1024, 1);
    const q = (i: number) => ({
      tenant: 'r',
      rawQuery: `name=a&from=${i}&until=${i + 1}`,
      contentType: '',
      contentEncoding: '',
      body: big,
    });
    await svc.accept(q(1));
    await assert.rejects(
      svc.accept(q(2)),
      (e) => e instanceof HttpFailure && e.status === 429 && Number(e.headers['retry-after']) >= 1,
    );
    assert.equal(
      (await svc.accept({ ...q(3), tenant: 'other' })).duplicate,
      false,
      'other tenants are not affected',
    );
  });

  it('charges an upload larger than the burst in full (regression: a 200 KB/s tenant pushed 786 KB/s)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ember-rate-'));
    writeFileSync(
      join(dir, 'c.yaml'),
      'tenants:\n  slow:\n    limits: {ingestionRateBytes: 200000, ingestionBurstBytes: 200000}\n',
    );
    const { svc } = await setup({ EMBER_CONFIG: join(dir, 'c.yaml') });
    const q = (i: number, bytes: number) => ({
      tenant: 'slow',
      rawQuery: `name=a&from=${i}&until=${i + 1}`,
      contentType: '',
      contentEncoding: '',
      body: Buffer.alloc(bytes, i),
    });
    // 786 KB from a full bucket of 200 KB passes and leaves 586 KB of debt
    assert.equal((await svc.accept(q(1, 786_000))).duplicate, false);
    // so even a small upload waits until the debt is paid off at 200 KB/s: about 3 s
    await assert.rejects(
      svc.accept(q(2, 1_000)),
      (e) =>
        e instanceof HttpFailure &&
        e.status === 429 &&
        Number(e.headers['retry-after']) === 3 &&
        /while adding 1000 bytes/.test(e.message),
    );
  });

  // The decoder publishes a Push of thousands of profiles in units, so the request's limit on
  // its decompressed profiles is answered here, before any is stored, as Pyroscope's
  // distributor answers it
  it('refuses a Push whose decompressed profiles exceed the request limit, 400, nothing published', async () => {
    const { svc, got } = await setup({}, false);
    const big = new ProfileBuilder().sampleType('cpu', 'nanoseconds');
    big.stack(['main', 'a'.repeat(4_100_000)], [1]);
    const gz = gzipSync(encodePprof(big.build()));
    const series = (n: number) =>
      Array.from({ length: n }, (_, i) => ({
        labels: [
          { name: '__name__', value: 'process_cpu' },
          { name: 'service_name', value: `big-${i}` },
        ],
        samples: [{ rawProfile: gz, id: '' }],
        annotations: [],
      }));
    const push = (n: number) =>
      svc.acceptPush({
        tenant: 't1',
        contentType: 'application/proto',
        contentEncoding: '',
        connectProtocolVersion: '1',
        body: Buffer.from(encodePushRequest({ series: series(n) })),
      });
    await assert.rejects(
      push(66),
      (err) =>
        err instanceof HttpFailure &&
        err.status === 400 &&
        err.code === 'invalid_argument' &&
        err.reason === 'body_size_limit_exceeded' &&
        err.message === 'uncompressed batched profile payload size exceeds limit of 268 MB',
    );
    await settle();
    assert.equal(got.length, 0, 'nothing published');
    // just under the limit it is taken
    await push(60);
    await settle();
    assert.equal(got.length, 1);
  });

  it('gives up its dedupe claim when the caller gave up waiting, so the agent retry is published', async () => {
    const { svc, broker } = await setup();
    const input = {
      tenant: 't',
      rawQuery: 'name=a&from=1&until=2',
      contentType: '',
      contentEncoding: '',
      body: Buffer.from('a 1'),
    };
    const publish = broker.publish.bind(broker);
    let release: () => void = () => {};
    broker.publish = (topic, messages) =>
      new Promise((resolve) => (release = () => resolve(publish(topic, messages))));
    const ac = new AbortController();
    const first = svc.accept({ ...input, signal: ac.signal });
    await settle();
    ac.abort(); // the handler timed out and answered 503
    await settle();
    broker.publish = publish;
    assert.equal((await svc.accept(input)).duplicate, false, 'the retry is not a duplicate');
    release();
    assert.equal((await first).duplicate, false);
  });
});

// Inflate once per process (ADR 0012): what the scan inflated travels beside the raw upload to
// the decoder of this process; the decoder's series are the same with it and without it.
describe('IngestService: the scan’s inflates handed to the decoder', () => {
  const pprof = readFileSync(fixturePath('pyroscope', 'pprof', 'heap.pb.gz'));
  const pprofB = readFileSync(fixturePath('pyroscope', 'pprof', 'cpu.pb.gz'));
  const decode = (upload: DecodeTaskUpload) =>
    runDecodeTask({
      upload,
      limits: defaultLimits,
      maxBodyBytes: 16 << 20,
      maxPartBytes: 4 << 20,
      rules: { globalTags: {}, relabel: [], sampleRelabel: [] },
    });
  async function post(svc: IngestService, r: AgentRequest): Promise<void> {
    const input = {
      tenant: 't1',
      contentType: r.headers['content-type'],
      contentEncoding: r.headers['content-encoding'] ?? '',
      body: r.body,
    };
    if (r.path === '/ingest')
      await svc.accept({ ...input, rawQuery: new URLSearchParams(r.query).toString() });
    else await svc.acceptPush({ ...input, connectProtocolVersion: '1' });
  }
  const gzipped = (r: AgentRequest): AgentRequest => ({
    ...r,
    way: `${r.way}, Content-Encoding: gzip`,
    headers: { ...r.headers, 'content-encoding': 'gzip' },
    body: gzipSync(r.body),
  });
  const twoSamples = (): AgentRequest => {
    const r = pushRequest({ service_name: 'p', __name__: 'memory' }, pprof, 'proto', false);
    const b = pushRequest({ service_name: 'q', __name__: 'process_cpu' }, pprofB, 'proto', false);
    // two series of one sample each, as one request
    return { ...r, body: Buffer.concat([r.body, b.body]) };
  };

  for (const [name, request, want] of [
    ['Go SDK form', () => goPprofForm('app.cpu', pprof), { pprofs: 1 }],
    [
      'Go SDK form, gzipped body',
      () => gzipped(goPprofForm('app.cpu', pprof)),
      { pprofs: 1, body: true },
    ],
    ['Push, two samples', twoSamples, { pprofs: 2 }],
  ] as const) {
    it(`${name}: handed over, and the decoder's series are the same without it`, async () => {
      const { svc, got } = await setup();
      await post(svc, request());
      await settle();
      assert.equal(got.length, 1);
      const upload = decodeRawUpload(got[0]);
      const inflated = upload.inflated;
      assert.ok(inflated, 'something was handed over');
      assert.equal(inflated.pprofs?.filter((p) => p !== null).length, want.pprofs);
      assert.equal(inflated.body !== undefined, 'body' in want);
      // counted in the queue's budget: the message's bytes and the inflated ones
      assert.ok(got[0].local && got[0].local.bytes > pprof.length);
      const withIt = decode(upload);
      const without = decode({ ...upload, inflated: undefined });
      assert.ok('series' in withIt && withIt.series.length >= want.pprofs);
      assert.deepEqual(withIt, without);
    });
  }

  it('hands nothing over when the queue carries no local payloads (Kafka)', async () => {
    const { svc, got } = await setup({}, false);
    await post(svc, goPprofForm('app.cpu', pprof));
    await settle();
    assert.equal(got.length, 1);
    assert.equal(got[0].local, undefined);
    assert.equal(decodeRawUpload(got[0]).inflated, undefined);
  });
});
