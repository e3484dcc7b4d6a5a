import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PyroscopeBackend } from '../../backends/pyroscope/pyroscope-backend.js';
import { startFakePyroscope, type FakePyroscope } from '../../backends/pyroscope/testing.js';
import { MemoryStore } from '../../cache/index.js';
import { RetryableError } from '../../model/index.js';
import { Metrics } from '../../observability/index.js';
import {
  MemoryBroker,
  TOPICS,
  encodeNormalizedSeries,
  topicSpecs,
  type MessageBatch,
} from '../../queue/index.js';
import { ExportService } from './export.service.js';

// Dual shipping: one Pyroscope backend per endpoint, each with its own delivered-ids. One
// endpoint down must not make the other receive a series twice when the batch is retried.

function batch(ids: string[]): MessageBatch {
  return {
    topic: TOPICS.normalized,
    partition: 0,
    heartbeat: async () => {},
    messages: ids.map((id, i) => ({
      ...encodeNormalizedSeries({
        seriesId: id,
        uploadId: id,
        tenant: 't',
        labels: [
          { name: '__name__', value: 'process_cpu' },
          { name: 'service_name', value: 'dual' },
        ],
        profileTypeIds: ['process_cpu:cpu:nanoseconds:cpu:nanoseconds'],
        startMs: Date.now(),
        endMs: Date.now(),
        pprof: Buffer.from([8, 1]),
      }),
      topic: TOPICS.normalized,
      partition: 0,
      offset: String(i),
      timestamp: 0,
    })),
  };
}

describe('dual shipping to two Pyroscope endpoints', () => {
  let up: FakePyroscope;
  let down: FakePyroscope;
  before(async () => {
    up = await startFakePyroscope();
    down = await startFakePyroscope();
  });
  after(async () => {
    await up.close();
    await down.close();
  });

  it('delivers to each endpoint exactly once while the other is down', async () => {
    down.respond = () => ({ status: 503, body: '{"code":"unavailable","message":"down"}' });
    const mk = (name: string, url: string) =>
      new PyroscopeBackend({
        name,
        url,
        tenantOrgIds: {},
        auth: null,
        headers: {},
        compression: 'gzip',
        maxRequestBytes: 1 << 20,
        sending: { retry: { initialIntervalMs: 20, maxIntervalMs: 50, maxElapsedMs: 1_000 } },
      });
    const broker = new MemoryBroker({ maxBytes: 1 << 20 });
    await broker.start(
      topicSpecs({ rawPartitions: 1, normalizedPartitions: 1, maxUploadBytes: 1 << 16 }),
    );
    const svc = new ExportService(
      [mk('primary', up.url), mk('secondary', down.url)],
      new MemoryStore(),
      broker,
      new Metrics(),
    );
    const b = batch(['d:0', 'd:1', 'd:2']);
    await assert.rejects(svc.handleBatch(b), RetryableError);
    assert.equal(up.accepted.length, 1);
    assert.ok(down.received.length >= 2, 'the down endpoint was retried');
    down.respond = () => ({ status: 200 });
    await svc.handleBatch(b); // the transport's retry of the same batch
    await svc.handleBatch(b); // and a redelivery after a crash
    const ids = (f: FakePyroscope) =>
      f.accepted.flatMap((r) => r.request.series.map((s) => s.samples[0].id)).length;
    assert.equal(ids(up), 3);
    assert.equal(ids(down), 3);
    await svc.onModuleDestroy();
  });
});
