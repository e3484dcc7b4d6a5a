import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryStore } from '../../cache/index.js';
import { PermanentError, RetryableError } from '../../model/index.js';
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
} from '../../queue/index.js';
import { loadConfig } from '../../runtime/config.js';
import { FleetRecorder } from '../fleet/fleet.recorder.js';
import { IngestService } from '../ingest/ingest.service.js';
import { DecodeService } from './decode.service.js';

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

describe('DecodeService', () => {
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
