import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fromBinary } from '@bufbuild/protobuf';
import { flattenSpans } from '../../protocol/index.js';
import { ExportTraceServiceRequestSchema } from '../../protocol/otlp/gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js';
import { traceRequestBytes, type TestSpan } from '../../protocol/otlp/testing.js';
import { SpanStore } from './span-store.js';
import { TraceQLError, compileTraceQL, type SpanView } from './traceql.js';

const now = Date.now();
const A = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const shop: TestSpan[] = [
  {
    traceId: A,
    spanId: 'a000000000000001',
    name: 'GET /cart',
    startMs: now - 5000,
    durationMs: 300,
    attributes: { 'http.method': 'GET', 'http.status_code': 200 },
  },
  {
    traceId: A,
    spanId: 'a000000000000002',
    parentSpanId: 'a000000000000001',
    name: 'SELECT cart',
    startMs: now - 4990,
    durationMs: 120,
    kind: 3,
    status: 2,
  },
];
const pay: TestSpan[] = [
  {
    traceId: B,
    spanId: 'b000000000000001',
    name: 'POST /pay',
    startMs: now - 3000,
    durationMs: 20,
    attributes: { 'http.method': 'POST' },
  },
];

const records = (service: string, spans: TestSpan[], res: Record<string, string> = {}) =>
  flattenSpans(fromBinary(ExportTraceServiceRequestSchema, traceRequestBytes(service, spans, res)));

describe('span store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ember-spans-'));
  const store = new SpanStore({ dataDir: dir, retentionMs: 3600_000, maxBytes: 1 << 30 });
  after(() => store.close());
  store.add('t1', records('shop', shop, { runtime_id: 'r-1' }));
  store.add('t1', records('pay', pay));

  it('keeps a span once, however often it is delivered', () => {
    assert.equal(store.add('t1', records('shop', shop)), 0);
    assert.equal(store.countSpans('t1'), 3);
  });

  it('reads a trace back with its spans, and keeps tenants apart', () => {
    assert.equal(store.traceSpans('t1', A).length, 2);
    assert.deepEqual(
      store.traceSpans('t1', A.toUpperCase()).map((s) => s.spanId),
      ['a000000000000001', 'a000000000000002'],
    );
    assert.equal(store.traceSpans('t2', A).length, 0);
    const [root] = store.traceSpans('t1', A);
    assert.equal(root.service, 'shop');
    assert.equal(root.durationNanos, 300_000_000);
    assert.equal(root.resourceAttributes.runtime_id, 'r-1');
  });

  it('searches by TraceQL, tags and durations, most recent first', () => {
    const q = (qq: string, extra = {}) =>
      store
        .search({
          tenant: 't1',
          q: qq,
          tags: {},
          startMs: now - 60_000,
          endMs: now,
          limit: 20,
          ...extra,
        })
        .map((t) => t.traceID);
    assert.deepEqual(q(''), [B, A]);
    assert.deepEqual(q('{ resource.service.name = "shop" }'), [A]);
    assert.deepEqual(q('{ status = error && kind = client }'), [A]);
    assert.deepEqual(q('{ duration > 100ms }'), [A]);
    assert.deepEqual(q('{ span.http.method =~ "P.*" }'), [B]);
    assert.deepEqual(q('{ .http.status_code >= 200 } && { name = "SELECT cart" }'), [A]);
    assert.deepEqual(q('{ name = "POST /pay" } || { name = "nope" }'), [B]);
    assert.deepEqual(q('{ name = "POST /pay" } && { name = "nope" }'), []);
    assert.deepEqual(q('', { tags: { 'service.name': 'pay' } }), [B]);
    assert.deepEqual(q('', { minDurationNanos: 100e6 }), [A]);
    assert.deepEqual(q('', { maxDurationNanos: 100e6 }), [B]);
    assert.deepEqual(q('', { limit: 1 }), [B]);
    const [a] = store.search({
      tenant: 't1',
      q: '{ status = error }',
      tags: {},
      startMs: 0,
      endMs: now,
      limit: 5,
    });
    assert.equal(a.rootServiceName, 'shop');
    assert.equal(a.rootTraceName, 'GET /cart');
    assert.equal(a.durationMs, 300);
    assert.deepEqual(
      a.spanSet.spans.map((s) => s.spanId),
      ['a000000000000002'],
    );
  });

  it('lists tag names and values', () => {
    const t = store.tagNames('t1', 0, now);
    assert.deepEqual(t.resource, ['runtime_id', 'service.name']);
    assert.deepEqual(t.span, ['http.method', 'http.status_code']);
    assert.deepEqual(store.tagValues('t1', 'resource.service.name', 0, now), ['pay', 'shop']);
    assert.deepEqual(store.tagValues('t1', 'http.method', 0, now), ['GET', 'POST']);
    assert.deepEqual(store.tagValues('t1', 'status', 0, now), ['unset', 'error']);
  });

  it('drops spans past the retention', () => {
    const d = mkdtempSync(join(tmpdir(), 'ember-spans-'));
    const s = new SpanStore({ dataDir: d, retentionMs: 1000, maxBytes: 1 << 30 });
    s.add('t', records('x', pay), now - 5000);
    s.add('t', records('x', shop), now);
    assert.equal(s.enforceRetention(now).deleted, 1);
    assert.equal(s.countSpans(), 2);
    const bounded = new SpanStore({
      dataDir: mkdtempSync(join(tmpdir(), 'ember-spans-')),
      retentionMs: 3600_000,
      maxBytes: 1,
    });
    bounded.add('t', records('x', pay), now - 10);
    bounded.add('t', records('x', shop), now);
    bounded.enforceRetention(now);
    assert.equal(bounded.countSpans(), 0);
    void s.close();
    void bounded.close();
  });
});

describe('TraceQL subset', () => {
  const span: SpanView = {
    name: 'GET /x',
    durationNanos: 2e9,
    statusCode: 1,
    statusMessage: '',
    kind: 2,
    spanAttributes: { 'http.status_code': 500, ok: true },
    resourceAttributes: { 'service.name': 'shop' },
  };
  const hit = (q: string) => compileTraceQL(q).select([span]) !== null;

  it('evaluates the operators on intrinsics and attributes', () => {
    assert.ok(hit('{}'));
    assert.ok(hit('{ duration >= 2s && duration < 2.5s }'));
    assert.ok(hit('{ status = ok && kind = server }'));
    assert.ok(hit('{ span.http.status_code != 200 }'));
    assert.ok(hit('{ span.ok = true }'));
    assert.ok(hit('{ resource.service.name !~ "pay.*" }'));
    assert.ok(hit('{ (name = "a" || name = "GET /x") && .service.name = "shop" }'));
    assert.ok(!hit('{ span.missing != "x" }'), 'a missing attribute never matches');
    assert.ok(!hit('{ name =~ "GET" }'), 'regexes are anchored');
  });

  it('refuses what it does not understand with TraceQLError', () => {
    for (const q of [
      '{ foo = 1 }',
      '{ name = }',
      '{ name = "x"',
      '{ name =~ "(" }',
      '{ name = "x" } |',
      'rate()',
    ])
      assert.throws(() => compileTraceQL(q), TraceQLError, q);
  });
});
