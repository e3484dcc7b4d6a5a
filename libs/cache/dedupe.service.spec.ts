import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryStore } from './memory/memory-store.js';
import type { SharedStore } from './store.port.js';
import { UploadDedupe, uploadDigest, type UploadIdentity } from './dedupe.service.js';

const base: UploadIdentity = {
  tenant: 't',
  format: 'groups',
  params: {
    appName: 'app.cpu',
    labels: { env: 'prod', region: 'eu' },
    fromNanos: '1700000000000000000',
    untilNanos: '1700000010000000000',
    spyName: 'gospy',
    sampleRate: 100,
    units: 'samples',
    aggregationType: 'sum',
  },
  body: Buffer.from('main;work 10\n'),
};

describe('upload dedupe keys', () => {
  it('differ in every parameter that changes what is stored (regression: 100 Hz and 50 Hz were one upload)', () => {
    const d = uploadDigest(base);
    const variants: [string, UploadIdentity][] = [
      ['format', { ...base, format: 'lines' }],
      ['body', { ...base, body: Buffer.from('main;work 11\n') }],
      ...(
        [
          ['appName', 'app.alloc_objects'],
          ['labels', { env: 'dev', region: 'eu' }],
          ['fromNanos', '1700000000000000001'],
          ['untilNanos', '1700000010000000001'],
          ['spyName', 'pyspy'],
          ['sampleRate', 50],
          ['units', 'objects'],
          ['aggregationType', 'average'],
        ] as const
      ).map(([k, v]): [string, UploadIdentity] => [
        k,
        { ...base, params: { ...base.params, [k]: v } },
      ]),
    ];
    for (const [what, v] of variants) assert.notEqual(uploadDigest(v), d, what);
  });

  it('are the same for the same labels in another order', () => {
    const reordered = {
      ...base,
      params: { ...base.params, labels: { region: 'eu', env: 'prod' } },
    };
    assert.equal(uploadDigest(reordered), uploadDigest(base));
  });

  it('claim once per tenant within the window, and again after release', async () => {
    const dd = new UploadDedupe(new MemoryStore(), 60_000);
    const first = await dd.claim(base);
    assert.ok(first.key);
    const again = await dd.claim(base);
    assert.equal(again.key, null);
    assert.equal(again.uploadId, first.uploadId, 'the same upload keeps its id');
    assert.ok((await dd.claim({ ...base, tenant: 'other' })).key);
    const at50 = await dd.claim({ ...base, params: { ...base.params, sampleRate: 50 } });
    assert.ok(at50.key);
    assert.notEqual(at50.uploadId, first.uploadId);
    await dd.release(first.key);
    assert.ok((await dd.claim(base)).key);
  });

  it('sends the claims of one event-loop turn to the store as one call, answering each as asked', async () => {
    const store = new MemoryStore();
    const calls: string[][] = [];
    const claim = store.claim.bind(store);
    store.claim = (keys, ttlMs) => {
      calls.push([...keys]);
      return claim(keys, ttlMs);
    };
    const dd = new UploadDedupe(store, 60_000);
    const other = { ...base, tenant: 'other' };
    const [a, b, c] = await Promise.all([dd.claim(base), dd.claim(other), dd.claim(base)]);
    assert.equal(calls.length, 1, 'one store call for three claims');
    assert.equal(calls[0].length, 3);
    assert.ok(a.key, 'the first claim of a key is first');
    assert.ok(b.key);
    assert.equal(c.key, null, 'the same upload again in the same turn is a duplicate');
    assert.equal(c.uploadId, a.uploadId);
    // a later turn is a call of its own
    assert.equal((await dd.claim(base)).key, null);
    assert.equal(calls.length, 2);
  });

  it('fails every claim of a failed store call, and claims again after it', async () => {
    const store = new MemoryStore();
    let down = true;
    const claim = store.claim.bind(store);
    store.claim = (keys, ttlMs) =>
      down ? Promise.reject(new Error('store down')) : claim(keys, ttlMs);
    const dd = new UploadDedupe(store, 60_000);
    const results = await Promise.allSettled([dd.claim(base), dd.claim({ ...base, tenant: 'x' })]);
    assert.deepEqual(
      results.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : 'ok')),
      ['store down', 'store down'],
    );
    down = false;
    assert.ok((await dd.claim(base)).key, 'nothing was claimed by the failed call');
  });

  it('fails the claims a store left unanswered instead of taking them as duplicates', async () => {
    const short: Pick<SharedStore, 'claim'> = { claim: async () => [true] };
    const dd = new UploadDedupe(short as SharedStore, 60_000);
    const [a, b] = await Promise.allSettled([dd.claim(base), dd.claim({ ...base, tenant: 'x' })]);
    assert.equal(a.status, 'fulfilled');
    assert.equal(b.status, 'rejected');
  });
});
