import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryStore } from '../../cache/index.js';
import { decodedSeries } from '../../decoders/index.js';
import { ProfileBuilder, profileToFlat } from '../../model/index.js';
import { loadConfig } from '../../runtime/config.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { enricherForTenant } from './enrichment.js';
import { LabelCache } from './label-cache.service.js';

function configWith(yaml: string) {
  const dir = mkdtempSync(join(tmpdir(), 'ember-enrich-'));
  writeFileSync(join(dir, 'c.yaml'), yaml);
  return loadConfig({ EMBER_CONFIG: join(dir, 'c.yaml') });
}

const L = (o: Record<string, string>) =>
  Object.entries(o).map(([name, value]) => ({ name, value }));
const M = (ls: { name: string; value: string }[]) =>
  Object.fromEntries(ls.map((l) => [l.name, l.value]));

function series(labels: Record<string, string>) {
  const p = new ProfileBuilder()
    .sampleType('cpu', 'nanoseconds')
    .stack(
      ['main', 'a'],
      [10],
      [
        ['span_id', '1'],
        ['thread_name', 'worker-1'],
      ],
    )
    .stack(
      ['main', 'b'],
      [5],
      [
        ['span_id', '2'],
        ['thread_name', 'gc'],
      ],
    )
    .build();
  return decodedSeries(L(labels), profileToFlat(p));
}

describe('SeriesEnricher', () => {
  it('adds global tags at the lowest precedence', () => {
    const cfg = configWith('globalTags: {cluster: eu-1, env: fallback}\n');
    const out = enricherForTenant(cfg, 't').enrich(
      series({ service_name: 'svc', __name__: 'process_cpu', env: 'prod' }),
    );
    assert.deepEqual(M(out.series!.labels), {
      __name__: 'process_cpu',
      cluster: 'eu-1',
      env: 'prod',
      service_name: 'svc',
    });
    assert.deepEqual(
      out.series!.labels.map((l) => l.name),
      ['__name__', 'cluster', 'env', 'service_name'],
    );
  });

  it('applies global then tenant series rules, drops series, and restores protected labels', () => {
    const cfg = configWith(
      [
        'relabel:',
        '  - {action: drop, sourceLabels: [env], regex: test}',
        'tenants:',
        '  acme:',
        '    relabel:',
        '      - {action: labeldrop, regex: "service_name|pod"}',
      ].join('\n'),
    );
    assert.equal(
      enricherForTenant(cfg, 't').enrich(series({ service_name: 's', __name__: 'x', env: 'test' }))
        .series,
      null,
    );
    const out = enricherForTenant(cfg, 'acme').enrich(
      series({ service_name: 's', __name__: 'x', pod: 'p1' }),
    );
    assert.deepEqual(M(out.series!.labels), { __name__: 'x', service_name: 's' });
    assert.equal(out.repairs, 1);
    const other = enricherForTenant(cfg, 'other').enrich(
      series({ service_name: 's', __name__: 'x', pod: 'p1' }),
    );
    assert.equal(M(other.series!.labels).pod, 'p1');
  });

  it('relabels sample labels and drops samples', () => {
    const cfg = configWith(
      [
        'sampleRelabel:',
        '  - {action: drop, sourceLabels: [thread_name], regex: gc}',
        '  - {sourceLabels: [thread_name], regex: "(.*)-[0-9]+", targetLabel: pool, replacement: $1}',
      ].join('\n'),
    );
    const out = enricherForTenant(cfg, 't').enrich(series({ service_name: 's', __name__: 'x' }));
    assert.equal(out.droppedSamples, 1);
    const p = out.series!.profile;
    assert.equal(p.sample.length, 1);
    const labels = Object.fromEntries(
      p.sample[0].label.map((l) => [p.stringTable[l.key], p.stringTable[l.str]]),
    );
    assert.deepEqual(labels, { span_id: '1', thread_name: 'worker-1', pool: 'worker' });
  });
});

describe('LabelCache', () => {
  it('caps a runaway label: known values pass, new ones past the cap become the overflow marker', async () => {
    const store = new MemoryStore();
    const cache = new LabelCache(store, {
      maxValuesPerLabel: 3,
      overflowValue: '__overflow__',
      exempt: ['service_name'],
    });
    const first = await cache.observe(
      't',
      [1, 2, 3].map((i) => L({ service_name: 's', req: `r${i}` })),
    );
    assert.deepEqual(
      first.labels.map((l) => M(l).req),
      ['r1', 'r2', 'r3'],
    );
    const second = await cache.observe('t', [
      L({ service_name: 's', req: 'r2' }),
      L({ service_name: 's', req: 'r9' }),
      L({ service_name: 'other-service', req: 'r1' }),
    ]);
    assert.deepEqual(
      second.labels.map((l) => M(l).req),
      ['r2', '__overflow__', 'r1'],
    );
    assert.equal(second.overflowed.get('req'), 1);
    assert.deepEqual((await cache.labelValues('t', 'req')).sort(), ['r1', 'r2', 'r3']);
    assert.deepEqual((await cache.labelNames('t', 's')).sort(), ['req', 'service_name']);
    const otherTenant = await cache.observe('u', [L({ service_name: 's', req: 'r9' })]);
    assert.equal(M(otherTenant.labels[0]).req, 'r9', 'caps are per tenant');
  });

  it('never caps exempt labels', async () => {
    const cache = new LabelCache(new MemoryStore(), {
      maxValuesPerLabel: 1,
      overflowValue: 'X',
      exempt: ['service_name'],
    });
    const out = await cache.observe('t', [L({ service_name: 'a' }), L({ service_name: 'b' })]);
    assert.deepEqual(
      out.labels.map((l) => M(l).service_name),
      ['a', 'b'],
    );
  });
});
