import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProduceCoalescer } from './produce-coalescer.js';

class PermanentRefusal extends Error {}

/** A fake broker: records each request; `gate` holds requests until released. */
function fakeBroker(refuse: (m: string) => boolean = () => false) {
  const requests: { topic: string; messages: string[] }[] = [];
  const gates: (() => void)[] = [];
  let held = true;
  const c = new ProduceCoalescer<string>({
    maxInFlight: 1,
    budgetBytes: 100,
    isPermanent: (e) => e instanceof PermanentRefusal,
    send: async (topic, messages) => {
      requests.push({ topic, messages });
      if (held) await new Promise<void>((r) => gates.push(r));
      if (messages.some(refuse)) throw new PermanentRefusal(`refused ${messages.join(',')}`);
    },
  });
  const releaseAll = async () => {
    held = false;
    while (gates.length > 0) {
      gates.shift()!();
      await new Promise((r) => setImmediate(r));
    }
  };
  return { c, requests, releaseAll };
}

describe('ProduceCoalescer', () => {
  it('sends an idle topic at once and joins publishes that arrive while a request is out', async () => {
    const { c, requests, releaseAll } = fakeBroker();
    const settled: string[] = [];
    const pub = (m: string) => c.publish('t', [m], 10).then(() => settled.push(m));
    const all = [pub('a'), pub('b'), pub('c'), pub('d')];
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(requests, [{ topic: 't', messages: ['a'] }], 'the first goes alone, now');
    assert.deepEqual(settled, [], 'nothing resolves before its request is acknowledged');
    await releaseAll();
    await Promise.all(all);
    assert.deepEqual(requests, [
      { topic: 't', messages: ['a'] },
      { topic: 't', messages: ['b', 'c', 'd'] },
    ]);
    assert.deepEqual(settled, ['a', 'b', 'c', 'd']);
    assert.equal(c.requests, 2);
    assert.equal(c.publishes, 4);
  });

  it('keeps each request within the byte budget, and a larger publish goes alone', async () => {
    const { c, requests, releaseAll } = fakeBroker();
    const all = [
      c.publish('t', ['x'], 10),
      c.publish('t', ['a1', 'a2'], 60),
      c.publish('t', ['b'], 50),
      c.publish('t', ['big'], 500),
      c.publish('t', ['c'], 10),
    ];
    await releaseAll();
    await Promise.all(all);
    assert.deepEqual(
      requests.map((r) => r.messages),
      [['x'], ['a1', 'a2'], ['b'], ['big'], ['c']],
    );
  });

  it("a publish's own budget bounds the request that carries it", async () => {
    const { c, requests, releaseAll } = fakeBroker();
    const all = [
      c.publish('t', ['x'], 1),
      c.publish('t', ['a'], 20),
      c.publish('t', ['b'], 20, 30),
      c.publish('t', ['c'], 20),
    ];
    await releaseAll();
    await Promise.all(all);
    assert.deepEqual(
      requests.map((r) => r.messages),
      [['x'], ['a'], ['b'], ['c']],
    );
  });

  it('topics do not wait for each other', async () => {
    const { c, requests, releaseAll } = fakeBroker();
    const all = [c.publish('t1', ['a'], 1), c.publish('t2', ['b'], 1)];
    await new Promise((r) => setImmediate(r));
    assert.equal(requests.length, 2);
    await releaseAll();
    await Promise.all(all);
  });

  it('a permanent refusal reaches only the publish whose record is refused', async () => {
    const { c, requests, releaseAll } = fakeBroker((m) => m === 'bad');
    const first = c.publish('t', ['first'], 1);
    const results = ['ok1', 'bad', 'ok2'].map((m) =>
      c.publish('t', [m], 1).then(
        () => `${m} stored`,
        (e: unknown) => `${m} ${e instanceof PermanentRefusal ? 'refused' : 'failed'}`,
      ),
    );
    await releaseAll();
    await first;
    assert.deepEqual(await Promise.all(results), ['ok1 stored', 'bad refused', 'ok2 stored']);
    assert.deepEqual(
      requests.map((r) => r.messages),
      [['first'], ['ok1', 'bad', 'ok2'], ['ok1'], ['bad'], ['ok2']],
    );
  });

  it('a transient failure rejects every publish of the request, and the next request goes', async () => {
    const sent: string[][] = [];
    const c = new ProduceCoalescer<string>({
      maxInFlight: 1,
      budgetBytes: 100,
      isPermanent: () => false,
      send: async (_t, messages) => {
        sent.push(messages);
        await new Promise((r) => setImmediate(r));
        if (messages.length > 1) throw new Error('request timed out'); // the joint request
      },
    });
    const a = c.publish('t', ['a'], 1);
    const rest = ['b', 'c'].map((m) =>
      c.publish('t', [m], 1).then(
        () => 'ok',
        () => 'failed',
      ),
    );
    await a;
    assert.deepEqual(await Promise.all(rest), ['failed', 'failed']);
    assert.deepEqual(sent, [['a'], ['b', 'c']], 'no publish-by-publish resend of a transient one');
    await c.publish('t', ['d'], 1);
    assert.deepEqual(sent.at(-1), ['d']);
  });
});
