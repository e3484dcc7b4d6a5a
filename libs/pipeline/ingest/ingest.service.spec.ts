import { gzipSync } from 'node:zlib';
import { ProfileBuilder, encodePprof } from '../../model/index.js';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
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

async function setup(env: Record<string, string> = {}) {
  const config = loadConfig(env);
  const broker = new MemoryBroker({ maxBytes: 1 << 24 });
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
