import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Backend } from '../../backends/backend.port.js';
import { MemoryStore } from '../../cache/index.js';
import { PermanentError, RetryableError } from '../../model/index.js';
import { Metrics } from '../../observability/index.js';
import {
  MemoryBroker,
  MemoryDeadLetterSink,
  TOPICS,
  encodeNormalizedSeries,
  topicSpecs,
  type IncomingMessage,
  type MessageBatch,
  type NormalizedSeries,
} from '../../queue/index.js';
import { ExportService } from './export.service.js';

class RecordingBackend implements Backend {
  received: NormalizedSeries[] = [];
  requests: string[][] = [];
  fail: Error | undefined;
  failIf: ((s: NormalizedSeries) => Error | undefined) | undefined;
  sending: Backend['sending'] = { retry: { enabled: false } };
  constructor(readonly name: string) {}
  async send(series: readonly NormalizedSeries[]): Promise<void> {
    this.requests.push(series.map((s) => s.seriesId));
    if (this.fail) throw this.fail;
    for (const s of series) {
      const e = this.failIf?.(s);
      if (e) throw e;
    }
    this.received.push(...series);
  }
  async close(): Promise<void> {}
}

function batchOf(ids: string[], startMs = 1, tenant = (_id: string) => 't'): MessageBatch {
  const messages: IncomingMessage[] = ids.map((id, i) => {
    const m = encodeNormalizedSeries({
      seriesId: id,
      uploadId: id.split(':')[0],
      tenant: tenant(id),
      labels: [{ name: 'service_name', value: 'svc' }],
      profileTypeIds: ['process_cpu:cpu:nanoseconds:cpu:nanoseconds'],
      startMs,
      endMs: startMs + 1,
      pprof: Buffer.from([1, 2, 3]),
    });
    return { ...m, topic: TOPICS.normalized, partition: 0, offset: String(i), timestamp: 0 };
  });
  return { topic: TOPICS.normalized, partition: 0, messages, heartbeat: async () => {} };
}

async function setup(backends: Backend[]) {
  // dead letters go to the in-process queue's dead-letter sink, apart from live topics
  const sink = new MemoryDeadLetterSink(1 << 20);
  const broker = new MemoryBroker({ maxBytes: 1 << 20, deadLetters: sink });
  await broker.start(
    topicSpecs({ rawPartitions: 1, normalizedPartitions: 1, maxUploadBytes: 1 << 16 }),
  );
  const dead = {
    get length() {
      return sink.all().filter((l) => l.topic === TOPICS.normalizedDlq).length;
    },
    at: (i: number) => sink.all().filter((l) => l.topic === TOPICS.normalizedDlq)[i],
  };
  const metrics = new Metrics();
  return { svc: new ExportService(backends, new MemoryStore(), broker, metrics), dead, metrics };
}

describe('ExportService', () => {
  it('sends every series to every backend once, even when the batch is redelivered', async () => {
    const a = new RecordingBackend('a');
    const b = new RecordingBackend('b');
    const { svc } = await setup([a, b]);
    await svc.handleBatch(batchOf(['u1:0', 'u1:1']));
    await svc.handleBatch(batchOf(['u1:0', 'u1:1', 'u2:0'])); // redelivery plus one new
    assert.deepEqual(
      a.received.map((s) => s.seriesId),
      ['u1:0', 'u1:1', 'u2:0'],
    );
    assert.deepEqual(
      b.received.map((s) => s.seriesId),
      ['u1:0', 'u1:1', 'u2:0'],
    );
  });

  it('retries a backend outage without recording delivery, so nothing is lost', async () => {
    const a = new RecordingBackend('a');
    const { svc } = await setup([a]);
    a.fail = new RetryableError('503 from backend', 2000);
    await assert.rejects(
      svc.handleBatch(batchOf(['x:0'])),
      (e) => e instanceof RetryableError && e.retryAfterMs === 2000,
    );
    a.fail = undefined;
    await svc.handleBatch(batchOf(['x:0']));
    assert.deepEqual(
      a.received.map((s) => s.seriesId),
      ['x:0'],
    );
  });

  it('dead-letters series a backend rejects for good, and still delivers to the others', async () => {
    const bad = new RecordingBackend('bad');
    const good = new RecordingBackend('good');
    bad.fail = new PermanentError('400 invalid labels', 'export_rejected');
    const { svc, dead } = await setup([bad, good]);
    await svc.handleBatch(batchOf(['p:0']));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(good.received.length, 1);
    assert.equal(dead.length, 1);
    assert.equal(dead.at(0).headers['ember-dlq-reason'], 'export_rejected');
    assert.match(dead.at(0).headers['ember-dlq-message'], /^bad: 400 invalid labels/);
  });

  it('retries with backoff inside the chain, honouring Retry-After, before giving up', async () => {
    const a = new RecordingBackend('a');
    a.sending = {
      retry: { enabled: true, initialIntervalMs: 5, maxIntervalMs: 20, maxElapsedMs: 2_000 },
    };
    let calls = 0;
    a.failIf = () =>
      ++calls === 1
        ? new RetryableError('503', undefined)
        : calls === 2
          ? new RetryableError('429', 50)
          : undefined;
    const { svc } = await setup([a]);
    const t0 = Date.now();
    await svc.handleBatch(batchOf(['r:0']));
    assert.ok(Date.now() - t0 >= 50, 'waited at least the Retry-After');
    assert.equal(a.requests.length, 3);
    assert.deepEqual(
      a.received.map((s) => s.seriesId),
      ['r:0'],
    );
  });

  it('sends one request per tenant and chunk, never mixing tenants', async () => {
    const a = new RecordingBackend('a');
    a.sending = { retry: { enabled: false }, batch: { maxItems: 2 } };
    const { svc } = await setup([a]);
    await svc.handleBatch(
      batchOf(['m:0', 'm:1', 'm:2', 'm:3', 'm:4'], 1, (id) => (id === 'm:1' ? 'other' : 't')),
    );
    assert.deepEqual(a.requests.map((r) => r.sort()).sort(), [
      ['m:0', 'm:2'],
      ['m:1'],
      ['m:3', 'm:4'],
    ]);
  });

  it('dead-letters series older than the ingestion window instead of retrying them', async () => {
    const a = new RecordingBackend('a');
    a.sending = { retry: { enabled: false }, rejectOlderThanMs: 3600_000 };
    const { svc, dead } = await setup([a]);
    await svc.handleBatch(batchOf(['old:0'], Date.now() - 2 * 3600_000));
    await svc.handleBatch(batchOf(['new:0'], Date.now() - 60_000));
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(
      a.received.map((s) => s.seriesId),
      ['new:0'],
    );
    assert.equal(dead.length, 1);
    assert.equal(dead.at(0).headers['ember-dlq-reason'], 'not_in_ingestion_window');
  });

  it('isolates the one series a backend refuses; its neighbours are delivered', async () => {
    const a = new RecordingBackend('a');
    a.failIf = (s) =>
      s.seriesId === 'b:1' ? new PermanentError('400 bad labels', 'export_rejected') : undefined;
    const { svc, dead } = await setup([a]);
    await svc.handleBatch(batchOf(['b:0', 'b:1', 'b:2']));
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(a.received.map((s) => s.seriesId).sort(), ['b:0', 'b:2']);
    assert.equal(dead.length, 1);
    assert.equal(dead.at(0).headers['ember-series-id'], 'b:1');
  });

  it('reports bytes in flight per backend', async () => {
    const a = new RecordingBackend('slow');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const send = a.send.bind(a);
    a.send = async (series) => {
      await gate;
      return send(series);
    };
    const { svc, metrics } = await setup([a]);
    const done = svc.handleBatch(batchOf(['g:0', 'g:1']));
    await new Promise((r) => setTimeout(r, 20));
    const during = await metrics.registry.getSingleMetricAsString(
      'emberflow_exporter_in_flight_bytes',
    );
    assert.match(during, /emberflow_exporter_in_flight_bytes\{backend="slow"\} [1-9]/);
    release();
    await done;
    const after = await metrics.registry.getSingleMetricAsString(
      'emberflow_exporter_in_flight_bytes',
    );
    assert.match(after, /emberflow_exporter_in_flight_bytes\{backend="slow"\} 0/);
  });
});
