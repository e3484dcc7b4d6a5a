import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ProfileBuilder } from '../../model/index.js';
import { cpuSeries } from '../../pipeline/query/testing.js';
import { compactProfile } from './compact-profile.js';
import { EmbeddedStore } from './embedded-store.js';
import { profiledSpans, topSpans } from './query-engine.js';
import { addSpanValues, collectSpanIds, topSpanValues } from './span-links.js';

const CPU = 'process_cpu:cpu:nanoseconds:cpu:nanoseconds';
const A = 'a1b2c3d4e5f60718';
const B = '0f1e2d3c4b5a6978';
const C = '1111222233334444';

function compact(stacks: [string[], number[], string?][]) {
  const b = new ProfileBuilder().sampleType('samples', 'count').sampleType('cpu', 'nanoseconds');
  for (const [frames, v, span] of stacks)
    b.stack(frames, v, span ? [['span_id', span]] : undefined);
  return compactProfile(b.build());
}

describe('span links (which spans have profiles)', () => {
  it('finds wanted span ids with a non-zero value in any column, case-insensitively', () => {
    const c = compact([
      [['main', 'a'], [0, 5], A.toUpperCase()],
      [['main', 'b'], [0, 0], B], // no value: no profile of that span
      [['main', 'c'], [1, 0], C],
      [['main', 'd'], [3, 3], '239'], // not a span id
    ]);
    const found = new Set<string>();
    collectSpanIds(c, new Set([A, B, C, '0000000000000239']), found);
    assert.deepEqual([...found].sort(), [C, A].sort());
  });

  it('sums one column per span id and keeps the top N, largest first, ties by id', () => {
    const c = compact([
      [['main', 'a'], [1, 50], A],
      [['main', 'x'], [1, 10], A],
      [['main', 'b'], [1, 20], B],
      [['main', 'c'], [1, 60], C],
      [
        ['main', 'idle'],
        [1, 99],
      ],
    ]);
    const totals = new Map<string, number>();
    addSpanValues(c, 1, totals);
    assert.deepEqual(Object.fromEntries(totals), { [A]: 60, [B]: 20, [C]: 60 });
    assert.deepEqual(topSpanValues(totals, 2), [
      { spanId: C, value: 60 },
      { spanId: A, value: 60 },
    ]);
    assert.deepEqual(topSpanValues(totals, 0), []);
  });

  it('the one-pass top N is the head of the fully sorted list, for many ids and ties', () => {
    let seed = 7;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const totals = new Map<string, number>();
    for (let i = 0; i < 5000; i++)
      totals.set(
        Math.floor(rnd() * 2 ** 48)
          .toString(16)
          .padStart(16, '0'),
        Math.floor(rnd() * 40),
      );
    const sorted = [...totals.entries()]
      .map(([spanId, value]) => ({ spanId, value }))
      .sort((a, b) => b.value - a.value || (a.spanId < b.spanId ? -1 : 1));
    for (const n of [1, 50, 4999, 5000, 6000])
      assert.deepEqual(topSpanValues(totals, n), sorted.slice(0, n), `top ${n}`);
  });

  it('answers over the stored profiles of a tenant and range: services and top spans', async () => {
    const store = new EmbeddedStore({
      dataDir: mkdtempSync(join(tmpdir(), 'ember-span-links-')),
      retentionMs: 86_400_000,
      maxBytes: 1 << 30,
    });
    const at = Date.now() - 60_000;
    await store.send([
      cpuSeries({
        labels: { service_name: 'go-shop' },
        stacks: [
          [['main', 'reserve'], 50, A],
          [['main', 'charge'], 20, B],
          [['main', 'sync'], 30],
        ],
        atMs: at,
      }),
      cpuSeries({
        labels: { service_name: 'billing' },
        stacks: [[['main', 'bill'], 5, A]],
        atMs: at,
      }),
      // another tenant's profile with span C: never seen from this tenant
      cpuSeries({
        tenant: 'other',
        labels: { service_name: 'x' },
        stacks: [[['m'], 9, C]],
        atMs: at,
      }),
      // span C in this tenant, but long before the range asked
      cpuSeries({ labels: { service_name: 'old' }, stacks: [[['m'], 9, C]], atMs: at - 3600_000 }),
    ]);
    const found = profiledSpans(store, 'anonymous', [A, B.toUpperCase(), C], at - 1000, at + 1000);
    assert.deepEqual(Object.fromEntries(found), {
      [A]: { services: ['billing', 'go-shop'], types: [CPU] },
      [B]: { services: ['go-shop'], types: [CPU] },
    });
    assert.equal(profiledSpans(store, 'anonymous', [], 0, at + 1000).size, 0);

    const q = { tenant: 'anonymous', profileTypeId: CPU, startMs: at - 1000, endMs: at + 1000 };
    const top = topSpans(store, { ...q, labelSelector: '{service_name="go-shop"}' }, 1);
    assert.deepEqual(top, { spans: [{ spanId: A, value: 50 }], distinct: 2, total: 100 });
    assert.deepEqual(topSpans(store, { ...q, labelSelector: '{}' }, 10).spans, [
      { spanId: A, value: 55 },
      { spanId: B, value: 20 },
    ]);
    await store.close();
  });
});
