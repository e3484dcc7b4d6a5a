import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { SharedStore } from './store.port.js';

// One contract suite for every SharedStore: in-memory as a unit test, Redis as an integration
// test against the real server.

export function sharedStoreContract(name: string, create: () => Promise<SharedStore>): void {
  describe(`SharedStore contract: ${name}`, () => {
    let store: SharedStore;
    const run = randomUUID().slice(0, 8);
    const k = (s: string): string => `contract:${run}:${s}`;
    before(async () => {
      store = await create();
    });
    after(async () => {
      await store.close();
      await store.close();
    });

    it('claims a key once, and again after release', async () => {
      assert.deepEqual(await store.claim([k('a'), k('b')], 60_000), [true, true]);
      assert.deepEqual(await store.claim([k('a'), k('c')], 60_000), [false, true]);
      await store.release([k('a'), k('missing')]);
      assert.deepEqual(await store.claim([k('a')], 60_000), [true]);
    });

    it('answers a key asked twice in one call as first, then duplicate', async () => {
      // UploadDedupe sends the claims of one event-loop turn as one call and relies on this
      assert.deepEqual(await store.claim([k('twice'), k('twice'), k('once')], 60_000), [
        true,
        false,
        true,
      ]);
    });

    it('expires claims after their ttl', async () => {
      assert.deepEqual(await store.claim([k('ttl')], 50), [true]);
      await new Promise((r) => setTimeout(r, 120));
      assert.deepEqual(await store.claim([k('ttl')], 50), [true]);
    });

    it('marks and reports existence', async () => {
      assert.deepEqual(await store.exists([k('m1'), k('m2')]), [false, false]);
      await store.mark([k('m1')], 60_000);
      assert.deepEqual(await store.exists([k('m1'), k('m2')]), [true, false]);
      assert.deepEqual(await store.exists([]), []);
    });

    it('runs a token bucket: burst, then refusal with a wait, then refill', async () => {
      const key = k('bucket');
      const first = await store.takeTokens(key, 10, 5, 5);
      assert.equal(first.allowed, true);
      const second = await store.takeTokens(key, 10, 5, 3);
      assert.equal(second.allowed, false);
      assert.ok(
        second.retryAfterMs > 0 && second.retryAfterMs <= 300,
        `wait ${second.retryAfterMs}`,
      );
      await new Promise((r) => setTimeout(r, second.retryAfterMs + 50));
      assert.equal((await store.takeTokens(key, 10, 5, 3)).allowed, true);
    });

    it('charges a cost above the burst in full: the bucket goes into debt and later takes wait', async () => {
      const key = k('debt');
      // empty bucket of 5: a cost of 15 needs the bucket full (5), not 15
      const first = await store.takeTokens(key, 10, 5, 15);
      assert.equal(first.allowed, true);
      // 5 - 15 = -10 tokens: a cost of 1 waits for 11 tokens, 1.1 s at 10/s
      const next = await store.takeTokens(key, 10, 5, 1);
      assert.equal(next.allowed, false);
      assert.ok(
        next.retryAfterMs > 1_000 && next.retryAfterMs <= 1_100,
        `wait ${next.retryAfterMs}`,
      );
      // a second oversize cost also waits for a full bucket: 15 tokens, 1.5 s
      const big = await store.takeTokens(key, 10, 5, 50);
      assert.equal(big.allowed, false);
      assert.ok(big.retryAfterMs > 1_400 && big.retryAfterMs <= 1_500, `wait ${big.retryAfterMs}`);
    });

    it('sets, merges, lists and deletes hash fields', async () => {
      const key = k('hash');
      assert.deepEqual(await store.hashGetAll(key), {});
      await store.hashSet(key, { a: '1', b: '{"x":2}' }, 60_000);
      await store.hashSet(key, { b: '3', c: '4' }, 60_000);
      assert.deepEqual(await store.hashGetAll(key), { a: '1', b: '3', c: '4' });
      await store.hashDelete(key, ['a', 'missing']);
      assert.deepEqual(await store.hashGetAll(key), { b: '3', c: '4' });
      await store.hashDelete(k('no-such-hash'), ['x']);
      await store.hashSet(key, {}, 60_000);
      assert.deepEqual(await store.hashGetAll(key), { b: '3', c: '4' });
    });

    it('expires a hash after its ttl, refreshed by every write', async () => {
      const key = k('hash-ttl');
      await store.hashSet(key, { a: '1' }, 400);
      await new Promise((r) => setTimeout(r, 250));
      await store.hashSet(key, { b: '2' }, 400);
      await new Promise((r) => setTimeout(r, 250));
      // 500 ms after the first write, 250 ms after the refresh
      assert.deepEqual(await store.hashGetAll(key), { a: '1', b: '2' });
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual(await store.hashGetAll(key), {});
    });

    it('keeps sets: add, membership, members', async () => {
      await store.setAdd(
        [
          { key: k('set'), members: ['a', 'b'] },
          { key: k('set2'), members: [] },
        ],
        60_000,
      );
      await store.setAdd([{ key: k('set'), members: ['b', 'c'] }], 60_000);
      assert.deepEqual((await store.setMembers(k('set'))).sort(), ['a', 'b', 'c']);
      assert.deepEqual(
        await store.setHas([
          { key: k('set'), members: ['a', 'z'] },
          { key: k('none'), members: ['a'] },
        ]),
        [[true, false], [false]],
      );
      assert.deepEqual(await store.setMembers(k('none')), []);
    });

    it('estimates distinct counts', async () => {
      const [n1] = await store.countDistinct([{ key: k('hll'), values: ['a', 'b', 'c'] }], 60_000);
      const [n2, n3] = await store.countDistinct(
        [
          { key: k('hll'), values: ['a', 'd'] },
          { key: k('hll2'), values: [] },
        ],
        60_000,
      );
      assert.equal(n1, 3);
      assert.equal(n2, 4);
      assert.equal(n3, 0);
      const many = Array.from({ length: 1000 }, (_, i) => `v${i}`);
      const [n4] = await store.countDistinct([{ key: k('hll3'), values: many }], 60_000);
      assert.ok(Math.abs(n4 - 1000) <= 20, `estimate ${n4}`);
    });

    it('reports health', async () => {
      assert.equal((await store.health()).ok, true);
    });
  });
}
