import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { IncomingMessage, QueueBroker, TopicSpec } from './queue.port.js';

// One contract suite for every QueueBroker: the in-process stand-in runs it as a unit test, the
// Kafka broker as an integration test on the real broker. A behaviour the pipeline relies on
// belongs here, so both implementations are held to it.

export interface BrokerFactory {
  /** a fresh broker; the suite calls start() with its own topics and close() at the end */
  create(): QueueBroker | Promise<QueueBroker>;
  /** how long to wait for a delivery before failing */
  deliveryTimeoutMs: number;
}

async function eventually<T>(
  what: string,
  timeoutMs: number,
  probe: () => T | undefined,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function queueBrokerContract(name: string, factory: BrokerFactory): void {
  describe(`QueueBroker contract: ${name}`, () => {
    let broker: QueueBroker;
    const run = randomUUID().slice(0, 8);
    const topic = (t: string): string => `contract.${run}.${t}`;
    const spec = (t: string, partitions = 2): TopicSpec => ({
      name: topic(t),
      partitions,
      maxMessageBytes: 8 * 1024 * 1024,
      retentionMs: -1,
    });
    const timeout = factory.deliveryTimeoutMs;

    before(async () => {
      broker = await factory.create();
      await broker.start([
        spec('order'),
        spec('retry', 1),
        spec('resume', 1),
        spec('groups'),
        spec('large', 1),
      ]);
    });
    after(async () => {
      await broker.close();
      await broker.close(); // safe twice
    });

    it('delivers binary values and headers intact, in key order', async () => {
      const got: IncomingMessage[] = [];
      const sub = await broker.subscribe({
        groupId: `g-${run}-order`,
        topic: topic('order'),
        maxBatchSize: 7,
        handler: async (b) => {
          got.push(...b.messages);
        },
      });
      const values = Array.from({ length: 40 }, (_, i) => Buffer.from([0, 0xff, 0x1f, 0x8b, i]));
      for (let i = 0; i < 40; i += 10) {
        await broker.publish(
          topic('order'),
          values
            .slice(i, i + 10)
            .map((v, j) => ({ key: `k${(i + j) % 3}`, value: v, headers: { n: String(i + j) } })),
        );
      }
      await eventually('40 messages', timeout, () => (got.length >= 40 ? true : undefined));
      await sub.close();
      assert.equal(got.length, 40);
      for (const m of got) assert.deepEqual(m.value, values[Number(m.headers.n)]);
      for (const key of ['k0', 'k1', 'k2']) {
        const ns = got.filter((m) => m.key === key).map((m) => Number(m.headers.n));
        assert.deepEqual(
          ns,
          [...ns].sort((a, b) => a - b),
          `order kept for ${key}`,
        );
      }
    });

    it('redelivers a batch whose handler failed, then moves on', async () => {
      let calls = 0;
      const seen: string[] = [];
      const sub = await broker.subscribe({
        groupId: `g-${run}-retry`,
        topic: topic('retry'),
        maxBatchSize: 10,
        handler: async (b) => {
          calls++;
          if (calls <= 2) throw new Error('transient');
          seen.push(...b.messages.map((m) => m.value.toString()));
        },
      });
      await broker.publish(topic('retry'), [
        { key: null, value: Buffer.from('a'), headers: {} },
        { key: null, value: Buffer.from('b'), headers: {} },
      ]);
      await eventually('a and b after retries', timeout + 15_000, () =>
        seen.length >= 2 ? true : undefined,
      );
      await sub.close();
      assert.deepEqual(seen, ['a', 'b']);
      assert.ok(calls >= 3, `handler called ${calls} times`);
    });

    it('resumes a group from its committed offset: committed work is not redelivered', async () => {
      const group = `g-${run}-resume`;
      const first: string[] = [];
      const sub1 = await broker.subscribe({
        groupId: group,
        topic: topic('resume'),
        maxBatchSize: 100,
        handler: async (b) => {
          first.push(...b.messages.map((m) => m.value.toString()));
        },
      });
      await broker.publish(topic('resume'), [{ key: 'x', value: Buffer.from('one'), headers: {} }]);
      await eventually('one', timeout, () => (first.length >= 1 ? true : undefined));
      await sub1.close();

      await broker.publish(topic('resume'), [{ key: 'x', value: Buffer.from('two'), headers: {} }]);
      const second: string[] = [];
      const sub2 = await broker.subscribe({
        groupId: group,
        topic: topic('resume'),
        maxBatchSize: 100,
        handler: async (b) => {
          second.push(...b.messages.map((m) => m.value.toString()));
        },
      });
      await eventually('two', timeout, () => (second.length >= 1 ? true : undefined));
      await new Promise((r) => setTimeout(r, 300));
      await sub2.close();
      assert.deepEqual(first, ['one']);
      assert.deepEqual(second, ['two']);
    });

    it('gives every consumer group every message', async () => {
      const a: string[] = [];
      const b: string[] = [];
      const subA = await broker.subscribe({
        groupId: `g-${run}-a`,
        topic: topic('groups'),
        maxBatchSize: 50,
        handler: async (batch) => void a.push(...batch.messages.map((m) => m.value.toString())),
      });
      const subB = await broker.subscribe({
        groupId: `g-${run}-b`,
        topic: topic('groups'),
        maxBatchSize: 50,
        handler: async (batch) => void b.push(...batch.messages.map((m) => m.value.toString())),
      });
      await broker.publish(
        topic('groups'),
        ['1', '2', '3', '4', '5'].map((v) => ({ key: v, value: Buffer.from(v), headers: {} })),
      );
      await eventually('both groups', timeout, () =>
        a.length >= 5 && b.length >= 5 ? true : undefined,
      );
      await Promise.all([subA.close(), subB.close()]);
      assert.deepEqual([...a].sort(), ['1', '2', '3', '4', '5']);
      assert.deepEqual([...b].sort(), ['1', '2', '3', '4', '5']);
    });

    it('carries a message larger than Kafka’s 1 MiB default', async () => {
      const big = randomBytes(3 * 1024 * 1024 + 17);
      let got: Buffer | undefined;
      const sub = await broker.subscribe({
        groupId: `g-${run}-large`,
        topic: topic('large'),
        maxBatchSize: 1,
        handler: async (b) => {
          got = b.messages[0].value;
        },
      });
      await broker.publish(topic('large'), [{ key: 'big', value: big, headers: {} }]);
      await eventually('large message', timeout, () => got);
      await sub.close();
      assert.ok(got && got.equals(big));
    });

    it('reports health', async () => {
      const h = await broker.health();
      assert.equal(h.ok, true, h.detail);
    });
  });
}
