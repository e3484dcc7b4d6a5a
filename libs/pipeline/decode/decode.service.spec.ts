import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { MemoryStore } from '../../cache/index.js';
import { defaultLimits } from '../../decoders/index.js';
import { PermanentError, ProfileBuilder, RetryableError, encodePprof } from '../../model/index.js';
import { encodePushRequest, type PushRequest } from '../../protocol/index.js';
import { Metrics, Readiness } from '../../observability/index.js';
import {
  MemoryBroker,
  TOPICS,
  letterBytes,
  topicSpecs,
  type IncomingMessage,
  type MessageBatch,
  type OutgoingMessage,
  type QueueBroker,
  decodeRawUpload,
} from '../../queue/index.js';
import { loadConfig } from '../../runtime/config.js';
import { FleetRecorder } from '../fleet/fleet.recorder.js';
import { IngestService } from '../ingest/ingest.service.js';
import { DecodeService } from './decode.service.js';
import { runDecodeTask } from './decode-task.js';

/**
 * A broker whose normalised topic's record limit is lowered behind the decoder's back, the way
 * an operator's `max.message.bytes` change reaches it: the decoder learns the new limit only
 * after it split a slice with the old one (another partition's publish learnt it meanwhile).
 */
class LoweredLimitBroker {
  limit = 8 * 1024 * 1024;
  readonly published: OutgoingMessage[] = [];
  readonly deadLettered: OutgoingMessage[] = [];
  constructor(readonly inner: MemoryBroker) {}
  maxRecordBytes(topic: string): number {
    return topic === TOPICS.normalized ? this.limit : this.inner.maxRecordBytes(topic);
  }
  async publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    if (topic === TOPICS.normalized) {
      for (const m of messages) {
        if (letterBytes(m) > this.limit)
          throw new PermanentError(`record over ${this.limit} bytes`, 'message_too_large');
      }
      this.published.push(...messages);
      return;
    }
    if (topic === TOPICS.rawDlq) {
      this.deadLettered.push(...messages);
      return;
    }
    await this.inner.publish(topic, messages);
  }
}

/** A raw upload as ingest publishes it: a folded profile of `stacks` distinct stacks. */
async function rawUpload(stacks: number): Promise<IncomingMessage> {
  const broker = new MemoryBroker({ maxBytes: 1 << 26 });
  await broker.start(
    topicSpecs({ rawPartitions: 1, normalizedPartitions: 1, maxUploadBytes: 32 << 20 }),
  );
  const got: IncomingMessage[] = [];
  await broker.subscribe({
    groupId: 'g',
    topic: TOPICS.raw,
    maxBatchSize: 10,
    handler: async (b) => void got.push(...b.messages),
  });
  const ingest = new IngestService(
    loadConfig({}),
    broker,
    new MemoryStore(),
    new Metrics(),
    new Readiness(),
  );
  const lines: string[] = [];
  for (let i = 0; i < stacks; i++)
    lines.push(`main;com.example.service${i % 97}.Handler.handle;leaf.function${i} ${i + 1}`);
  const from = Math.floor(Date.now() / 1000) - 60;
  await ingest.accept({
    tenant: 't1',
    rawQuery: `name=big.cpu&from=${from}&until=${from + 10}`,
    contentType: '',
    contentEncoding: '',
    body: Buffer.from(lines.join('\n') + '\n'),
  });
  for (let i = 0; i < 100 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  await broker.close();
  assert.equal(got.length, 1);
  return got[0];
}

/**
 * A Push of `n` samples (one series each, gzipped pprofs) as ingest publishes it on the
 * in-process queue, handed inflates included. Every third profile has two values of a sample
 * label, so it becomes two series: a unit's series count differs from its sample count.
 */
async function rawPush(n: number): Promise<IncomingMessage> {
  const broker = new MemoryBroker({ maxBytes: 1 << 28 });
  await broker.start(
    topicSpecs({ rawPartitions: 1, normalizedPartitions: 1, maxUploadBytes: 32 << 20 }),
  );
  const got: IncomingMessage[] = [];
  await broker.subscribe({
    groupId: 'g',
    topic: TOPICS.raw,
    maxBatchSize: 10,
    handler: async (b) => void got.push(...b.messages),
  });
  const ingest = new IngestService(
    loadConfig({}),
    broker,
    new MemoryStore(),
    new Metrics(),
    new Readiness(),
  );
  const now = BigInt(Date.now()) * 1_000_000n;
  const req: PushRequest = { series: [] };
  for (let i = 0; i < n; i++) {
    const b = new ProfileBuilder()
      .sampleType('cpu', 'nanoseconds')
      .period('cpu', 'nanoseconds', 10_000_000)
      .time(now, 10_000_000_000n);
    if (i % 3 === 0) {
      b.stack(['main', `work${i}`], [10_000_000 + i], [['region', 'a']]);
      b.stack(['main', 'idle'], [20_000_000], [['region', 'b']]);
    } else b.stack(['main', `work${i}`], [10_000_000 + i]);
    req.series.push({
      labels: [
        { name: '__name__', value: 'process_cpu' },
        { name: 'service_name', value: 'many' },
        { name: 'i', value: String(i) },
      ],
      samples: [{ rawProfile: gzipSync(encodePprof(b.build())), id: '' }],
      annotations: [],
    });
  }
  await ingest.acceptPush({
    tenant: 't1',
    contentType: 'application/proto',
    contentEncoding: '',
    connectProtocolVersion: '1',
    body: Buffer.from(encodePushRequest(req)),
  });
  for (let i = 0; i < 100 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  await broker.close();
  assert.equal(got.length, 1);
  return got[0];
}

describe('DecodeService', () => {
  // regression (probe: a Push of 20,000-40,000 series answered 200, then dead-lettered as
  // profile_size_limit, and eight of 10,000 took one process to 1 GB): a Push of more profiles
  // than one wave is decoded and published a unit at a time, with the ids of a whole decode
  it('decodes a Push of more profiles than a wave in units, publishing each, with the series of a whole decode', async () => {
    const m = await rawPush(9_000);
    const upload = decodeRawUpload(m);
    assert.equal(upload.profiles, 9_000);
    const whole = runDecodeTask({
      upload: { ...upload, inflated: undefined },
      limits: defaultLimits,
      maxBodyBytes: 64 << 20,
      maxPartBytes: 4 << 20,
      rules: { globalTags: {}, relabel: [], sampleRelabel: [] },
    });
    assert.ok('series' in whole);
    assert.equal(whole.series.length, 12_000);
    const want = new Map(
      whole.series.map((s) => [`${upload.uploadId}:${s.index}`, JSON.stringify(s.labels)]),
    );

    const memory = new MemoryBroker({ maxBytes: 1 << 26 });
    await memory.start(
      topicSpecs({ rawPartitions: 1, normalizedPartitions: 1, maxUploadBytes: 32 << 20 }),
    );
    const broker = new LoweredLimitBroker(memory);
    const publishes: number[] = [];
    const realPublish = broker.publish.bind(broker);
    broker.publish = async (topic, messages) => {
      if (topic === TOPICS.normalized) publishes.push(messages.length);
      return realPublish(topic, messages);
    };
    const store = new MemoryStore();
    const svc = new DecodeService(
      loadConfig({}),
      broker as unknown as QueueBroker,
      store,
      new Metrics(),
      new FleetRecorder(store),
    );
    try {
      let heartbeats = 0;
      await svc.handleBatch({
        topic: TOPICS.raw,
        partition: 0,
        messages: [m],
        heartbeat: async () => void heartbeats++,
      });
      assert.equal(broker.deadLettered.length, 0, 'nothing dead-lettered');
      assert.equal(publishes.length, 3, `publishes of ${publishes.join(', ')} records`);
      assert.ok(heartbeats >= 3);
      const got = new Map(
        broker.published.map((r) => [r.headers['ember-series-id'], r.headers['ember-labels']]),
      );
      assert.equal(got.size, broker.published.length, 'no series id twice');
      assert.deepEqual(got, want);
    } finally {
      await svc.onModuleDestroy();
      await memory.close();
    }
  });

  it('regression (permanent-produce-error flake): a record limit lowered after the slice was split retries the slice, it does not dead-letter the upload', async () => {
    const memory = new MemoryBroker({ maxBytes: 1 << 26 });
    await memory.start(
      topicSpecs({ rawPartitions: 1, normalizedPartitions: 1, maxUploadBytes: 32 << 20 }),
    );
    const broker = new LoweredLimitBroker(memory);
    const store = new MemoryStore();
    const config = loadConfig({});
    const svc = new DecodeService(
      config,
      broker as unknown as QueueBroker,
      store,
      new Metrics(),
      new FleetRecorder(store),
    );
    try {
      const m = await rawUpload(12_000);
      const batch: MessageBatch = {
        topic: TOPICS.raw,
        partition: 0,
        messages: [m],
        heartbeat: async () => {},
      };
      // split with the old limit; the limit drops before the records are published
      const budgetBefore = svc.maxPartBytes();
      const realPublish = broker.publish.bind(broker);
      let lowered = false;
      broker.publish = async (topic, messages) => {
        if (topic === TOPICS.normalized && !lowered) {
          lowered = true;
          broker.limit = 256 * 1024;
        }
        return realPublish(topic, messages);
      };
      await assert.rejects(svc.handleBatch(batch), (err) => err instanceof RetryableError);
      assert.ok(svc.maxPartBytes() < budgetBefore);
      assert.equal(broker.deadLettered.length, 0, 'nothing dead-lettered');
      // the redelivered slice is split within the new limit and published whole
      await svc.handleBatch(batch);
      assert.ok(broker.published.length > 1, `${broker.published.length} parts`);
      for (const r of broker.published) assert.ok(letterBytes(r) <= broker.limit);
      assert.equal(broker.deadLettered.length, 0, 'nothing dead-lettered');
    } finally {
      await svc.onModuleDestroy();
      await memory.close();
    }
  });
});
