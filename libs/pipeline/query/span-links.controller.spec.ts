import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fromBinary } from '@bufbuild/protobuf';
import { flattenSpans } from '../../protocol/index.js';
import { ExportTraceServiceRequestSchema } from '../../protocol/otlp/gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js';
import { traceRequestBytes, type TestSpan } from '../../protocol/otlp/testing.js';
import { CPU, cpuSeries, startReadApp, type ReadApp } from './testing.js';

// The trace-to-profile links of the web UI over a running read app with both stores.

const now = Date.now();
const TRACE = 'c0ffee00000000000000000000000001';
const A = 'a1b2c3d4e5f60718';
const B = '0f1e2d3c4b5a6978';
const C = '5a5a5a5a5a5a5a5a';
const ATTR = '00000000000000ff';
const spans: TestSpan[] = [
  { traceId: TRACE, spanId: A, name: 'POST /order', startMs: now - 5000, durationMs: 700 },
  {
    traceId: TRACE,
    spanId: B,
    parentSpanId: A,
    name: 'charge',
    startMs: now - 4700,
    durationMs: 200,
  },
  {
    traceId: TRACE,
    spanId: C,
    parentSpanId: A,
    name: 'render',
    startMs: now - 4500,
    durationMs: 50,
  },
  {
    traceId: TRACE,
    spanId: 'ddddddddddddddd1',
    parentSpanId: A,
    name: 'async job',
    startMs: now - 4400,
    durationMs: 10,
    attributes: { 'pyroscope.profile.id': ATTR },
  },
];

describe('span links API', () => {
  let app: ReadApp;
  before(async () => {
    app = await startReadApp({}, { spans: true });
    app.spans!.add(
      'shop',
      flattenSpans(fromBinary(ExportTraceServiceRequestSchema, traceRequestBytes('front', spans))),
    );
    await app.store.send([
      cpuSeries({
        tenant: 'shop',
        labels: { service_name: 'front-go' },
        stacks: [
          [['main', 'reserve'], 50, A],
          [['main', 'charge'], 20, B],
          [['main', 'idle'], 30],
        ],
        atMs: now - 10_000,
      }),
      // the same span ids in another tenant, and this tenant's profile long before the trace
      cpuSeries({
        tenant: 'other',
        labels: { service_name: 'x' },
        stacks: [[['m'], 9, C]],
        atMs: now - 10_000,
      }),
      cpuSeries({
        tenant: 'shop',
        labels: { service_name: 'old' },
        stacks: [[['m'], 9, C]],
        atMs: now - 600_000,
      }),
    ]);
  });
  after(() => app.close());

  const get = async (path: string, tenant = 'shop') => {
    const r = await fetch(`${app.url}${path}`, { headers: { 'x-scope-orgid': tenant } });
    return { status: r.status, text: await r.text() };
  };

  it("marks a trace's spans with profile samples, or with pyroscope.profile.id, in one answer", async () => {
    const r = await get(`/api/v1/traces/${TRACE}/profiled-spans`);
    assert.equal(r.status, 200, r.text);
    const body = JSON.parse(r.text) as { spans: unknown[]; from: number; until: number };
    assert.deepEqual(body.spans, [
      { spanId: A, profileId: A, via: 'span_id', services: ['front-go'], types: [CPU] },
      { spanId: B, profileId: B, via: 'span_id', services: ['front-go'], types: [CPU] },
      {
        spanId: 'ddddddddddddddd1',
        profileId: ATTR,
        via: 'attribute',
        services: [],
        types: [],
      },
    ]);
    assert.equal(body.from, now - 5000 - 60_000);
    // the root ends last: 700 ms after it started
    assert.equal(body.until, now - 5000 + 700 + 15_000);
    // another tenant sees no such trace
    assert.equal((await get(`/api/v1/traces/${TRACE}/profiled-spans`, 'other')).status, 404);
    assert.equal((await get('/api/v1/traces/xyz/profiled-spans')).status, 400);
  });

  it('lists the top span ids of a selection with their spans, and refuses bad parameters', async () => {
    const q = (o: Record<string, string>) =>
      `/api/v1/span-profiles?${new URLSearchParams({
        profileTypeID: CPU,
        labelSelector: '{service_name="front-go"}',
        start: String(now - 3600_000),
        end: String(now),
        ...o,
      })}`;
    const r = await get(q({ limit: '1' }));
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(JSON.parse(r.text), {
      spans: [
        {
          spanId: A,
          value: 50,
          span: {
            traceId: TRACE,
            service: 'front',
            name: 'POST /order',
            startMs: now - 5000,
            durationMs: 700,
          },
        },
      ],
      distinct: 2,
      total: 100,
      limit: 1,
    });
    assert.equal((await get(q({ limit: '0' }))).status, 400);
    assert.equal((await get(q({ labelSelector: '{service_name=' }))).status, 400);
    assert.equal((await get(q({ profileTypeID: 'cpu' }))).status, 400);
    assert.equal((await get(q({ start: String(now), end: String(now - 1) }))).status, 400);
  });

  it('the span queries run as query tasks, but are not querier.v1 methods anyone can call', async () => {
    for (const method of ['emberflow.ProfiledSpans', 'emberflow.TopSpans']) {
      const r = await fetch(`${app.url}/querier.v1.QuerierService/${method}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-scope-orgid': 'shop' },
        body: JSON.stringify({ spanIds: [A], startMs: 0, endMs: now }),
      });
      assert.equal(r.status, 404, method);
    }
  });
});
