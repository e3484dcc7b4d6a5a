import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { PermanentError, RetryableError } from '../model/index.js';
import type { IncomingMessage, QueueBroker, TopicSpec } from './queue.port.js';

// One contract suite for every QueueBroker: the in-process stand-in runs it as a unit test, the
// Kafka broker as an integration test on the real broker. A behaviour the pipeline relies on
// belongs here, so both implementations are held to it.

export interface BrokerFactory {
  /** a fresh broker; the suite calls start() with its own topics and close() at the end */
  create(options?: { stallAfterMs?: number }): QueueBroker | Promise<QueueBroker>;
  /**
   * The dead letters published to a dead-letter topic so far, as they are kept (Kafka: the
   * topic read by a consumer group; in-process: the dead-letter sink).
   */
  deadLetters(broker: QueueBroker, topic: string): Promise<IncomingMessage[]>;
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

async function eventuallyAsync<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function queueBrokerContract(name: string, factory: BrokerFactory): void {
  describe(`QueueBroker contract: ${name}`, () => {
    let broker: QueueBroker;
    const run = randomUUID().slice(0, 8);
    const topic = (t: string): string => `contract.${run}.${t}`;
    const spec = (t: string, partitions = 2, maxMessageBytes = 8 * 1024 * 1024): TopicSpec => ({
      name: topic(t),
      partitions,
      maxMessageBytes,
      retentionMs: -1,
    });
    const dlq = (t: string): TopicSpec => ({ ...spec(t, 1), deadLetter: true });
    const fast = { isolateAfter: 1, backoffBaseMs: 10, backoffMaxMs: 50 };
    const timeout = factory.deliveryTimeoutMs;

    before(async () => {
      broker = await factory.create();
      await broker.start([
        spec('order'),
        spec('retry', 1),
        spec('resume', 1),
        spec('groups'),
        spec('large', 1),
        spec('small-limit', 2, 256 * 1024),
        spec('independent', 4),
        spec('budget', 1),
        dlq('budget-dlq'),
        spec('permanent', 1),
        dlq('permanent-dlq'),
        spec('stall', 1),
        spec('backlog'),
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

    it('reports a group backlog from the broker: lag until committed, then how much was consumed', async () => {
      const group = `g-${run}-backlog`;
      const empty = await broker.groupBacklog(group, topic('backlog'));
      assert.equal(empty.lag, 0);
      await broker.publish(
        topic('backlog'),
        ['a', 'b', 'c', 'd', 'e'].map((k) => ({ key: k, value: Buffer.from(k), headers: {} })),
      );
      // a group that never committed counts from the start of what the topic holds
      const before = await broker.groupBacklog(group, topic('backlog'));
      assert.equal(before.lag, 5);
      let release: () => void = () => {};
      const gate = new Promise<void>((r) => (release = r));
      let seen = 0;
      const sub = await broker.subscribe({
        groupId: group,
        topic: topic('backlog'),
        maxBatchSize: 100,
        handler: async (b) => {
          seen += b.messages.length;
          await gate;
        },
      });
      await eventually('delivery', timeout, () => (seen > 0 ? true : undefined));
      // delivered but not committed: still behind
      assert.equal((await broker.groupBacklog(group, topic('backlog'))).lag, 5);
      release();
      const after = await eventuallyAsync('commit', timeout, async () => {
        const b = await broker.groupBacklog(group, topic('backlog'));
        return b.lag === 0 ? b : undefined;
      });
      await sub.close();
      assert.equal(after.consumed - before.consumed, 5);
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

    it('splits a publish larger than the topic limit into requests that fit', async () => {
      // 12 records of 100 KiB: 1.2 MB in one call, the topic takes 256 KiB per request
      const values = Array.from({ length: 12 }, (_, i) => randomBytes(100 * 1024 + i));
      const got: Buffer[] = [];
      const sub = await broker.subscribe({
        groupId: `g-${run}-small-limit`,
        topic: topic('small-limit'),
        maxBatchSize: 100,
        handler: async (b) => void got.push(...b.messages.map((m) => m.value)),
      });
      await broker.publish(
        topic('small-limit'),
        values.map((value, i) => ({ key: `k${i % 2}`, value, headers: { i: String(i) } })),
      );
      await eventually('12 records', timeout, () => (got.length >= 12 ? true : undefined));
      await sub.close();
      assert.equal(got.length, 12);
      for (const v of values) assert.ok(got.some((g) => g.equals(v)));
      assert.ok(broker.maxRecordBytes(topic('small-limit')) <= 256 * 1024);
    });

    it('concurrent publishes that together exceed the topic limit all arrive', async () => {
      // ingest publishes one upload per request; Kafka may carry concurrent ones in one produce
      // request, but never more than the topic takes (8 x 100 KiB, 256 KiB per request)
      const values = Array.from({ length: 8 }, (_, i) => randomBytes(100 * 1024 + i));
      const got: Buffer[] = [];
      const sub = await broker.subscribe({
        groupId: `g-${run}-concurrent`,
        topic: topic('small-limit'),
        maxBatchSize: 100,
        handler: async (b) => void got.push(...b.messages.map((m) => m.value)),
      });
      await Promise.all(
        values.map((value, i) =>
          broker.publish(topic('small-limit'), [{ key: 'same', value, headers: { i: String(i) } }]),
        ),
      );
      await eventually('8 concurrent records', timeout, () =>
        values.every((v) => got.some((g) => g.equals(v))) ? true : undefined,
      );
      await sub.close();
    });

    it('refuses for good a record larger than the topic limit (message_too_large)', async () => {
      await assert.rejects(
        broker.publish(topic('small-limit'), [
          { key: 'big', value: Buffer.alloc(300 * 1024), headers: {} },
        ]),
        (err) => err instanceof PermanentError && err.reason === 'message_too_large',
      );
    });

    it('keeps delivering every other partition while one partition fails', async () => {
      const got: string[] = [];
      let stuck = -1;
      const sub = await broker.subscribe({
        groupId: `g-${run}-independent`,
        topic: topic('independent'),
        maxBatchSize: 5,
        retry: { ...fast, isolateAfter: 1_000, budgetMs: 3_600_000 },
        handler: async (b) => {
          if (b.messages.some((m) => m.key === 'stuck')) {
            stuck = b.partition;
            throw new RetryableError('this partition keeps failing');
          }
          got.push(...b.messages.map((m) => m.value.toString()));
        },
      });
      await broker.publish(topic('independent'), [
        { key: 'stuck', value: Buffer.from('stuck'), headers: {} },
      ]);
      await eventually('the stuck partition failing', timeout, () =>
        stuck >= 0 ? true : undefined,
      );
      const keys = Array.from({ length: 60 }, (_, i) => `key-${i}`);
      await broker.publish(
        topic('independent'),
        keys.map((k) => ({ key: k, value: Buffer.from(k), headers: {} })),
      );
      // every message of the other partitions arrives although one partition never commits
      const expected = await eventually('other partitions', timeout, () => {
        const others = got.length;
        return others >= 1 && others === new Set(got).size ? got : undefined;
      });
      await new Promise((r) => setTimeout(r, 500));
      const status = broker.consumerStatus().filter((p) => p.topic === topic('independent'));
      await sub.close();
      assert.ok(expected.length > 0);
      assert.ok(!got.includes('stuck'));
      // all keys that did not land on the stuck partition are there (a key's partition is stable)
      const onStuck = keys.length - got.length;
      assert.ok(onStuck < keys.length / 2, `${onStuck} of ${keys.length} keys held back`);
      const failing = status.find((p) => p.partition === stuck);
      assert.ok(failing && failing.attempts > 0, JSON.stringify(status));
    });

    it('dead-letters a message that keeps failing past its retry budget, then moves on', async () => {
      const done: string[] = [];
      let poisonAttempts = 0;
      const sub = await broker.subscribe({
        groupId: `g-${run}-budget`,
        topic: topic('budget'),
        maxBatchSize: 10,
        deadLetterTopic: topic('budget-dlq'),
        retry: { ...fast, budgetMs: 0, minAttempts: 3 },
        handler: async (b) => {
          if (b.messages.some((m) => m.value.toString() === 'poison')) {
            if (b.messages.length === 1) poisonAttempts++;
            throw new RetryableError('never clears');
          }
          done.push(...b.messages.map((m) => m.value.toString()));
        },
      });
      await broker.publish(
        topic('budget'),
        ['a', 'poison', 'b', 'c'].map((v) => ({
          key: 'one',
          value: Buffer.from(v),
          headers: { v },
        })),
      );
      await eventually('a, b and c', timeout + 10_000, () => (done.length >= 3 ? true : undefined));
      const letters = await eventuallyAsync('the dead letter', timeout, async () => {
        const ls = await factory.deadLetters(broker, topic('budget-dlq'));
        return ls.some((m) => m.value.toString() === 'poison') ? ls : undefined;
      });
      await sub.close();
      assert.deepEqual(done, ['a', 'b', 'c']);
      const l = letters.find((m) => m.value.toString() === 'poison');
      assert.ok(l, `dead letters: ${letters.map((m) => m.value.toString()).join(',')}`);
      assert.equal(l.headers['ember-dlq-reason'], 'retry_budget_exhausted');
      assert.ok(Number(l.headers['ember-dlq-attempts']) >= 3, l.headers['ember-dlq-attempts']);
      assert.match(l.headers['ember-dlq-message'], /never clears/);
      assert.equal(l.headers.v, 'poison');
      assert.ok(poisonAttempts >= 2);
    });

    it('dead-letters a message its handler refuses for good at once, with the reason', async () => {
      const done: string[] = [];
      const sub = await broker.subscribe({
        groupId: `g-${run}-permanent`,
        topic: topic('permanent'),
        maxBatchSize: 10,
        deadLetterTopic: topic('permanent-dlq'),
        retry: { ...fast, isolateAfter: 2, budgetMs: 3_600_000 },
        handler: async (b) => {
          if (b.messages.some((m) => m.value.toString() === 'bad'))
            throw new PermanentError('schema is wrong', 'bad_message');
          done.push(...b.messages.map((m) => m.value.toString()));
        },
      });
      await broker.publish(
        topic('permanent'),
        ['x', 'bad', 'y'].map((v) => ({ key: 'one', value: Buffer.from(v), headers: {} })),
      );
      await eventually('x and y', timeout, () => (done.length >= 2 ? true : undefined));
      const letters = await eventuallyAsync('the dead letter', timeout, async () => {
        const ls = await factory.deadLetters(broker, topic('permanent-dlq'));
        return ls.some((m) => m.value.toString() === 'bad') ? ls : undefined;
      });
      await sub.close();
      assert.deepEqual(done, ['x', 'y']);
      const l = letters.find((m) => m.value.toString() === 'bad');
      assert.ok(l);
      assert.equal(l.headers['ember-dlq-reason'], 'bad_message');
      assert.match(l.headers['ember-dlq-source-offset'], /^0\//);
    });

    it('reports a partition that cannot commit as stalled, with lag and the error', async () => {
      const b2 = await factory.create({ stallAfterMs: 300 });
      await b2.start([spec('stall', 1)]);
      const sub = await b2.subscribe({
        groupId: `g-${run}-stall`,
        topic: topic('stall'),
        maxBatchSize: 10,
        retry: { ...fast, isolateAfter: 1_000, budgetMs: 3_600_000 },
        handler: async () => {
          throw new RetryableError('backend down');
        },
      });
      await b2.publish(topic('stall'), [{ key: 'k', value: Buffer.from('v'), headers: {} }]);
      const stalled = await eventually('a stalled partition', timeout + 15_000, () =>
        b2.consumerStatus().find((p) => p.topic === topic('stall') && p.stalled),
      );
      await sub.close();
      await b2.close();
      assert.equal(stalled.partition, 0);
      assert.ok((stalled.lag ?? 0) >= 1, JSON.stringify(stalled));
      assert.match(stalled.lastError ?? '', /backend down/);
      assert.equal(stalled.lastCommitAt, null);
    });

    it('reports health', async () => {
      const h = await broker.health();
      assert.equal(h.ok, true, h.detail);
    });
  });
}
