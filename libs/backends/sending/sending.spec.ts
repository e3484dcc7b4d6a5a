import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PermanentError, RetryableError } from '../../model/index.js';
import { Batcher } from './batcher.js';
import { backoffInterval, retrying, type RetrySettings } from './retry.js';
import { AttemptTimeoutError, withTimeout } from './timeout.js';

const fast: RetrySettings = {
  enabled: true,
  initialIntervalMs: 10,
  maxIntervalMs: 40,
  multiplier: 2,
  randomizationFactor: 0.5,
  maxElapsedMs: 1_000,
};

describe('retry link', () => {
  it('grows the interval exponentially with jitter inside ±factor, capped', () => {
    for (let n = 0; n < 6; n++) {
      const base = Math.min(40, 10 * 2 ** n);
      for (const r of [0, 0.5, 0.999]) {
        const w = backoffInterval(fast, n, () => r);
        assert.ok(w >= base * 0.5 - 1 && w <= base * 1.5 + 1, `attempt ${n}: ${w}`);
      }
    }
  });

  it('never retries a permanent error', async () => {
    let calls = 0;
    await assert.rejects(
      retrying(fast, async () => {
        calls++;
        throw new PermanentError('400', 'export_rejected');
      }),
      PermanentError,
    );
    assert.equal(calls, 1);
  });

  it('waits at least the server’s Retry-After', async () => {
    const waits: number[] = [];
    let calls = 0;
    const r = await retrying(
      fast,
      async () => {
        if (++calls < 3) throw new RetryableError('429', 300);
        return 'ok';
      },
      { sleep: async (ms) => void waits.push(ms) },
    );
    assert.equal(r, 'ok');
    assert.deepEqual(waits, [300, 300]);
  });

  it('gives up when the next wait would pass maxElapsed, keeping Retry-After', async () => {
    let t = 0;
    await assert.rejects(
      retrying(
        { ...fast, maxElapsedMs: 1_000 },
        async () => {
          throw new RetryableError('503', 400);
        },
        { now: () => t, sleep: async (ms) => void (t += ms) },
      ),
      (e) =>
        e instanceof RetryableError &&
        e.retryAfterMs === 400 &&
        /giving up after 3/.test(e.message),
    );
  });

  it('treats unknown errors as retryable', async () => {
    let calls = 0;
    await retrying(fast, async () => {
      if (++calls === 1) throw new TypeError('fetch failed');
    });
    assert.equal(calls, 2);
  });
});

describe('timeout link', () => {
  it('aborts a slow attempt and reports a retryable timeout', async () => {
    await assert.rejects(
      withTimeout(
        30,
        (signal) =>
          new Promise((_, reject) =>
            signal.addEventListener('abort', () => reject(new Error('aborted'))),
          ),
      ),
      (e) => e instanceof AttemptTimeoutError && e instanceof RetryableError,
    );
  });

  it('passes a fast attempt through', async () => {
    assert.equal(await withTimeout(1_000, async () => 7), 7);
  });
});

describe('batcher', () => {
  const settings = { maxItems: 3, maxBytes: 100, flushIntervalMs: 20, maxInFlightBytes: 1_000 };

  it('cuts chunks at maxItems and maxBytes, per key, and answers every item', async () => {
    const flushed: string[][] = [];
    const b = new Batcher<{ k: string; id: string; n: number }, string>({
      settings,
      keyOf: (x) => x.k,
      sizeOf: (x) => x.n,
      flush: async (_k, items) => {
        flushed.push(items.map((i) => i.id));
        return items.map((i) => `ok:${i.id}`);
      },
    });
    const items = [
      { k: 'a', id: '1', n: 10 },
      { k: 'b', id: '2', n: 10 },
      { k: 'a', id: '3', n: 10 },
      { k: 'a', id: '4', n: 10 },
      { k: 'a', id: '5', n: 90 },
      { k: 'a', id: '6', n: 5 },
    ];
    assert.deepEqual(
      await b.add(items),
      items.map((i) => `ok:${i.id}`),
    );
    assert.deepEqual(flushed.sort(), [['1', '3', '4'], ['2'], ['5', '6']].sort());
  });

  it('lingers for other contributors, then merges their items into one chunk', async () => {
    const flushed: number[][] = [];
    let active = 2;
    const b = new Batcher<number, number>({
      settings: { ...settings, maxItems: 10, flushIntervalMs: 5_000 },
      keyOf: () => 't',
      sizeOf: () => 1,
      flush: async (_k, items) => {
        flushed.push(items);
        return items.map((i) => i * 2);
      },
      activeContributors: () => active,
    });
    const first = b.add([1, 2]);
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(flushed.length, 0, 'waits while another contributor may still add');
    const second = b.add([3]);
    assert.deepEqual(await first, [2, 4]);
    assert.deepEqual(await second, [6]);
    assert.deepEqual(flushed, [[1, 2, 3]]);
    active = 1;
  });

  it('fails only the contributors of a failed chunk', async () => {
    const b = new Batcher<string, string>({
      settings: { ...settings, maxItems: 1 },
      keyOf: (x) => x,
      sizeOf: () => 1,
      flush: async (_k, items) => {
        if (items[0] === 'bad') throw new RetryableError('down');
        return items;
      },
    });
    await assert.rejects(b.add(['bad', 'good']), RetryableError);
    assert.deepEqual(await b.add(['good']), ['good']);
  });

  it('keeps in-flight bytes within the budget', async () => {
    let inFlight = 0;
    let peak = 0;
    const b = new Batcher<number, number>({
      settings: { maxItems: 1, maxBytes: 1_000, flushIntervalMs: 1, maxInFlightBytes: 25 },
      keyOf: (x) => String(x),
      sizeOf: () => 10,
      flush: async (_k, items) => {
        inFlight += 10;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setTimeout(r, 5));
        inFlight -= 10;
        return items;
      },
    });
    assert.deepEqual(await b.add([1, 2, 3, 4, 5, 6]), [1, 2, 3, 4, 5, 6]);
    assert.equal(peak, 20);
  });
});
