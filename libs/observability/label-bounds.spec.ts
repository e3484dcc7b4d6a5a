import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Metrics } from './metrics.js';

describe('self-metric label bounds', () => {
  it('keep /metrics within a few KB under 3,000 invented spyNames and tenants (regression: 17 KB became 1.8 MB)', async () => {
    const m = new Metrics();
    m.tenantLabels.configure(['acme'], 10);
    const touch = (tenant: string, spy: string, reason: string) => {
      m.ingestRequests.inc({ format: 'pprof', spy, tenant, status: '200' });
      m.ingestBytes.inc({ tenant, encoding: 'compressed' }, 100);
      m.discarded.inc({ reason, tenant });
      m.decodedSeries.inc({ tenant });
    };
    touch('acme', 'gospy', 'invalid_labels');
    const before = (await m.registry.metrics()).length;
    for (let i = 0; i < 3_000; i++) touch(`invented-${i}`, `spy-${i}`, `reason-${i}`);
    const text = await m.registry.metrics();
    const grown = text.length - before;
    // 10 invented tenants get their own value, then `other`: 11 label sets per counter
    assert.ok(grown < 8 * 1024, `grew ${grown} bytes`);
    assert.match(text, /tenant="invented-9"/);
    assert.doesNotMatch(text, /tenant="invented-10"/);
    assert.doesNotMatch(text, /spy-\d|reason-\d/);
    assert.match(
      text,
      /emberflow_ingest_requests_total\{format="pprof",spy="other",tenant="other",status="200"\} 2990/,
    );
    assert.match(
      text,
      /emberflow_discarded_profiles_total\{reason="unknown",tenant="other"\} 2990/,
    );
    // configured tenants and known spies keep their names whenever they come
    touch('acme', 'javaspy', 'rate_limited');
    const after = await m.registry.metrics();
    assert.match(after, /spy="javaspy",tenant="acme"/);
    assert.match(after, /reason="rate_limited",tenant="acme"/);
  });
});
