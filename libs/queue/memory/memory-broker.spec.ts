import assert from 'node:assert/strict';
import { it } from 'node:test';
import { queueBrokerContract } from '../queue.contract.js';
import { RetryableError } from '../../model/index.js';
import { MESSAGE_OVERHEAD_BYTES, MemoryBroker } from './memory-broker.js';
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
  const broker = new MemoryBroker({
    maxBytes: 1000,
    drainTimeoutMs: 10,
    publishWaitMs: 30,
    messageOverheadBytes: 0,
  });
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

// regression: 503 queue_unavailable under a one-process burst, when the payloads riding beside
// earlier messages took the room admission had reserved for the bodies still being published
it('a publish that does not fit waits for the consumer to free room, up to publishWaitMs', async () => {
  const broker = new MemoryBroker({ maxBytes: 1000, drainTimeoutMs: 10, publishWaitMs: 2_000 });
  await broker.start([{ name: 't', partitions: 1, maxMessageBytes: 1000, retentionMs: -1 }]);
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  let handled = 0;
  await broker.subscribe({
    groupId: 'g',
    topic: 't',
    maxBatchSize: 1,
    handler: async () => {
      if (handled++ === 0) await gate;
    },
  });
  await broker.publish('t', [{ key: null, value: Buffer.alloc(600), headers: {} }]);
  let done = false;
  const second = broker
    .publish('t', [{ key: null, value: Buffer.alloc(600), headers: {} }])
    .then(() => (done = true));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(done, false, 'waits while the first message holds the room');
  release();
  await second;
  assert.equal(done, true);
  const closing = new MemoryBroker({ maxBytes: 100, drainTimeoutMs: 10, publishWaitMs: 60_000 });
  await closing.start([{ name: 't', partitions: 1, maxMessageBytes: 1000, retentionMs: -1 }]);
  await closing.subscribe({
    groupId: 'g',
    topic: 't',
    maxBatchSize: 1,
    handler: () => new Promise(() => {}),
  });
  await closing.publish('t', [{ key: null, value: Buffer.alloc(60), headers: {} }]);
  const waiting = closing.publish('t', [{ key: null, value: Buffer.alloc(60), headers: {} }]);
  await new Promise((r) => setTimeout(r, 20));
  void closing.close().catch(() => {});
  await assert.rejects(
    waiting,
    (err) => err instanceof RetryableError && /closed/.test(err.message),
  );
  await broker.close();
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

it('counts a local payload against the bound, and holds a message without it when only the message fits (never 503 for a saving)', async () => {
  const broker = new MemoryBroker({
    maxBytes: 1000,
    drainTimeoutMs: 10,
    publishWaitMs: 0,
    messageOverheadBytes: 0,
  });
  await broker.start([{ name: 't', partitions: 1, maxMessageBytes: 1000, retentionMs: -1 }]);
  const got: (unknown | undefined)[] = [];
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  await broker.subscribe({
    groupId: 'g',
    topic: 't',
    maxBatchSize: 10,
    handler: async (b) => {
      await gate;
      for (const m of b.messages) got.push(m.local?.value);
    },
  });
  const msg = (value: number, local: number, tag: string) => ({
    key: null,
    value: Buffer.alloc(value),
    headers: {},
    local: { value: tag, bytes: local },
  });
  await broker.publish('t', [msg(100, 300, 'kept')]);
  assert.equal(broker.bytesHeld, 400);
  // 400 + 100 + 600 > 1000: the second message is held, its payload is not
  await broker.publish('t', [msg(100, 600, 'dropped')]);
  assert.equal(broker.bytesHeld, 500);
  // the message itself must still fit
  await assert.rejects(
    broker.publish('t', [msg(600, 0, 'refused')]),
    (err) => err instanceof RetryableError && /full/.test(err.message),
  );
  release();
  for (let i = 0; i < 200 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(got, ['kept', undefined]);
  assert.equal(broker.bytesHeld, 0);
  await broker.close().catch(() => {});
});

// regression: the 10,000 records of one Push of tiny profiles were charged their values only,
// a third of the heap they held, so the queue's bound let one process grow past its budget
it('charges a held message its key, headers and the per-message overhead, not only its value', async () => {
  const broker = new MemoryBroker({ maxBytes: 1 << 20, drainTimeoutMs: 10 });
  await broker.start([{ name: 't', partitions: 1, maxMessageBytes: 1000, retentionMs: -1 }]);
  await broker.subscribe({
    groupId: 'g',
    topic: 't',
    maxBatchSize: 1,
    handler: () => new Promise(() => {}),
  });
  await broker.publish('t', [
    { key: 'k1', value: Buffer.alloc(100), headers: { h: 'v'.repeat(50) } },
  ]);
  assert.equal(broker.bytesHeld, 2 + 100 + 1 + 50 + MESSAGE_OVERHEAD_BYTES);
  await broker.close().catch(() => {});
});

it('takes a publish larger than its whole bound once nothing else is held, instead of refusing it forever', async () => {
  const broker = new MemoryBroker({
    maxBytes: 1000,
    drainTimeoutMs: 10,
    publishWaitMs: 20,
    messageOverheadBytes: 0,
  });
  await broker.start([{ name: 't', partitions: 1, maxMessageBytes: 1000, retentionMs: -1 }]);
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  let seen = 0;
  await broker.subscribe({
    groupId: 'g',
    topic: 't',
    maxBatchSize: 10,
    handler: async (b) => {
      seen += b.messages.length;
      await gate;
    },
  });
  const big = [0, 1, 2].map(() => ({ key: null, value: Buffer.alloc(600), headers: {} }));
  await broker.publish('t', big);
  assert.equal(broker.bytesHeld, 1800);
  // while it is held, nothing more fits: the next publish is refused as full
  await assert.rejects(
    broker.publish('t', [{ key: null, value: Buffer.alloc(10), headers: {} }]),
    (err) => err instanceof RetryableError && /full/.test(err.message),
  );
  release();
  for (let i = 0; i < 200 && broker.bytesHeld > 0; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(seen, 3);
  assert.equal(broker.bytesHeld, 0);
  await broker.close().catch(() => {});
});
