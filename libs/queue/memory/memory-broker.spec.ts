import assert from 'node:assert/strict';
import { it } from 'node:test';
import { queueBrokerContract } from '../queue.contract.js';
import { RetryableError } from '../../model/index.js';
import { MemoryBroker } from './memory-broker.js';
import { MemoryDeadLetterSink } from '../dead-letters/dead-letter-sink.js';

queueBrokerContract('in-process', {
  create: (o) =>
    new MemoryBroker({
      maxBytes: 64 * 1024 * 1024,
      retryBaseMs: 10,
      stallAfterMs: o?.stallAfterMs,
      deadLetters: new MemoryDeadLetterSink(16 * 1024 * 1024),
    }),
  deadLetters: async (broker, topic) =>
    ((broker as MemoryBroker).deadLetters as MemoryDeadLetterSink)
      .all()
      .filter((l) => l.topic === topic)
      .map((l) => ({
        topic: l.topic,
        partition: 0,
        offset: String(l.id),
        key: l.key,
        value: l.value,
        headers: l.headers,
        timestamp: l.storedAt,
      })),
  deliveryTimeoutMs: 5_000,
});

it('refuses a publish past its byte bound instead of buffering', async () => {
  const broker = new MemoryBroker({ maxBytes: 1000, drainTimeoutMs: 10 });
  await broker.start([{ name: 't', partitions: 1, maxMessageBytes: 1000, retentionMs: -1 }]);
  await broker.subscribe({
    groupId: 'g',
    topic: 't',
    maxBatchSize: 1,
    handler: () => new Promise(() => {}),
  });
  await broker.publish('t', [{ key: null, value: Buffer.alloc(600), headers: {} }]);
  await assert.rejects(
    broker.publish('t', [{ key: null, value: Buffer.alloc(600), headers: {} }]),
    (err) => err instanceof RetryableError && /full/.test(err.message),
  );
  assert.equal(broker.bytesHeld, 600);
  await broker.close().catch(() => {});
});

it('releases bytes once every group committed', async () => {
  const broker = new MemoryBroker({ maxBytes: 10_000 });
  await broker.start([{ name: 't', partitions: 1, maxMessageBytes: 1000, retentionMs: -1 }]);
  let n = 0;
  const sub = await broker.subscribe({
    groupId: 'g',
    topic: 't',
    maxBatchSize: 10,
    handler: async (b) => void (n += b.messages.length),
  });
  await broker.publish('t', [{ key: null, value: Buffer.alloc(500), headers: {} }]);
  for (let i = 0; i < 100 && n < 1; i++) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(n, 1);
  assert.equal(broker.bytesHeld, 0);
  await sub.close();
  await broker.close();
});
