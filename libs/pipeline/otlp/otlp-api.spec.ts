import { Client, Metadata, credentials, status as Status, type ServiceError } from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { fromBinary } from '@bufbuild/protobuf';
import { BinaryReader } from '@bufbuild/protobuf/wire';
import { freePort, listenOnFreePort } from '../../../test/support/ports.js';
import { waitFor } from '../../../test/support/query-client.js';
import { TracesDataSchema } from '../../protocol/index.js';
import { traceRequestBytes, traceRequestJson, type TestSpan } from '../../protocol/otlp/testing.js';
import { bootstrap, type RunningEmberflow } from '../../runtime/bootstrap.js';
import { tempoTraceJson, tempoTraceProto } from './tempo.controller.js';

// One Emberflow on embedded defaults: OTLP traces in over HTTP and gRPC, out through every
// endpoint of the Tempo API, with the error answers of each.

const TRACE = 'opentelemetry.proto.collector.trace.v1.TraceService';

function grpcCall(
  address: string,
  path: string,
  body: Buffer,
  md: Record<string, string> = {},
): Promise<{ ok: true; body: Buffer } | { ok: false; error: ServiceError }> {
  const client = new Client(address, credentials.createInsecure());
  const metadata = new Metadata();
  for (const [k, v] of Object.entries(md)) metadata.set(k, v);
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      body,
      metadata,
      (err, res) => {
        client.close();
        resolve(err ? { ok: false, error: err } : { ok: true, body: res ?? Buffer.alloc(0) });
      },
    );
  });
}

const hex = (n: number) => randomBytes(n).toString('hex');
const b64 = (h: string) => Buffer.from(h, 'hex').toString('base64');
const now = Date.now();
const T1 = hex(16);
const ROOT = hex(8);
const spans1: TestSpan[] = [
  {
    traceId: T1,
    spanId: ROOT,
    name: 'GET /cart',
    startMs: now - 9000,
    durationMs: 500,
    attributes: { 'http.method': 'GET', 'http.status_code': 200 },
  },
  {
    traceId: T1,
    spanId: hex(8),
    parentSpanId: ROOT,
    name: 'SELECT cart',
    startMs: now - 8990,
    durationMs: 200,
    kind: 3,
    status: 2,
  },
];
const T2 = hex(16);
const spans2: TestSpan[] = [
  {
    traceId: T2,
    spanId: hex(8),
    name: 'POST /pay',
    startMs: now - 5000,
    durationMs: 30,
    attributes: { 'http.method': 'POST' },
  },
];

describe('OTLP in (HTTP and gRPC) and the Tempo API', () => {
  let app: RunningEmberflow;
  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${app.url}${path}`, { headers });

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ember-otlp-'));
    app = await listenOnFreePort(async (port) =>
      bootstrap({
        env: {
          EMBER_HTTP_PORT: String(port),
          EMBER_GRPC_PORT: String(await freePort()),
          EMBER_HTTP_HOST: '127.0.0.1',
          EMBER_DATA_DIR: dir,
          EMBER_LOG_LEVEL: 'error',
          EMBER_DECODE_WORKERS: '0',
          EMBER_INGEST_MAX_EVENT_LOOP_DELAY: '0',
        },
      }),
    );
    const r = await fetch(`${app.url}/otel/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' },
      body: gzipSync(traceRequestBytes('shop', spans1, { runtime_id: 'rt-1' })),
    });
    assert.equal(r.status, 200, await r.text());
    const g = await grpcCall(
      app.grpcAddress!,
      `/${TRACE}/Export`,
      Buffer.from(traceRequestBytes('pay', spans2)),
    );
    assert.ok(g.ok, g.ok ? '' : g.error.message);
    assert.equal(g.body.length, 0);
    await waitFor('both traces', 20_000, async () => {
      const a = await get(`/api/traces/${T1}`);
      const b = await get(`/api/traces/${T2}`);
      return a.status === 200 && b.status === 200 ? true : undefined;
    });
  });
  after(() => app?.close());

  it('GET /api/echo and /api/status/buildinfo', async () => {
    assert.equal(await (await get('/api/echo')).text(), 'echo');
    const b = (await (await get('/api/status/buildinfo')).json()) as { version: string };
    assert.match(b.version, /^2\./);
  });

  it("GET /api/traces/{id}: Tempo's v1 JSON (batches, base64 ids, enums by name) and tempopb.Trace in protobuf", async () => {
    const r = await get(`/api/traces/${T1.toUpperCase()}`);
    assert.equal(r.headers.get('content-type'), 'application/json');
    const text = await r.text();
    // tempopb.MarshalToJSONV1: jsonpb's {"resourceSpans":[...]} with the key renamed batches
    assert.ok(text.startsWith('{"batches":[{"resource":{"attributes":['), text.slice(0, 80));
    assert.ok(!text.includes('"resourceSpans"'));
    const j = JSON.parse(text) as {
      batches: {
        resource: { attributes: { key: string }[] };
        scopeSpans: {
          spans: {
            traceId: string;
            spanId: string;
            parentSpanId?: string;
            kind: string;
            startTimeUnixNano: string;
            status: { code?: string };
          }[];
        }[];
      }[];
    };
    const spans = j.batches.flatMap((b) => b.scopeSpans.flatMap((s) => s.spans));
    // bytes in standard base64 (gogo jsonpb), not OTLP/JSON's hex
    assert.deepEqual(spans.map((s) => s.spanId).sort(), spans1.map((s) => b64(s.spanId)).sort());
    for (const s of spans) assert.equal(s.traceId, b64(T1));
    assert.equal(spans.find((s) => s.parentSpanId)?.parentSpanId, b64(ROOT));
    assert.deepEqual(spans.map((s) => s.kind).sort(), ['SPAN_KIND_CLIENT', 'SPAN_KIND_SERVER']);
    assert.deepEqual(
      spans.map((s) => s.status.code ?? 'unset').sort(),
      ['STATUS_CODE_ERROR', 'unset'],
      'a zero enum is left out, as jsonpb leaves out zero values',
    );
    assert.match(spans[0].startTimeUnixNano, /^\d+$/, 'fixed64 as a decimal string');
    assert.ok(j.batches[0].resource.attributes.some((a) => a.key === 'runtime_id'));
    const p = await get(`/api/traces/${T1}`, { accept: 'application/protobuf' });
    assert.equal(p.headers.get('content-type'), 'application/protobuf');
    const data = fromBinary(TracesDataSchema, new Uint8Array(await p.arrayBuffer()));
    assert.equal(data.resourceSpans[0].scopeSpans[0].spans.length, 2);
  });

  it("GET /api/v2/traces/{id}: Tempo's TraceByIDResponse, {trace: {resourceSpans}, metrics}, in JSON and protobuf", async () => {
    const r = await get(`/api/v2/traces/${T2}`);
    assert.equal(r.headers.get('content-type'), 'application/json');
    const text = await r.text();
    assert.ok(text.startsWith('{"trace":{"resourceSpans":[{"resource":'), text.slice(0, 80));
    const j = JSON.parse(text) as {
      trace: {
        resourceSpans: { scopeSpans: { spans: { traceId: string; spanId: string }[] }[] }[];
      };
      metrics: { inspectedBytes: string };
    };
    assert.deepEqual(
      Object.keys(j),
      ['trace', 'metrics'],
      'status COMPLETE and no message: absent',
    );
    assert.equal(j.trace.resourceSpans.length, 1);
    const span = j.trace.resourceSpans[0].scopeSpans[0].spans[0];
    assert.deepEqual([span.traceId, span.spanId], [b64(T2), b64(spans2[0].spanId)]);
    assert.ok(Number(j.metrics.inspectedBytes) > 0, 'uint64 as a decimal string');
    const p = await get(`/api/v2/traces/${T2}`, { accept: 'application/protobuf' });
    assert.equal(p.headers.get('content-type'), 'application/protobuf');
    const rd = new BinaryReader(new Uint8Array(await p.arrayBuffer()));
    assert.deepEqual(rd.tag(), [1, 2]); // Trace trace = 1
    const data = fromBinary(TracesDataSchema, rd.bytes());
    assert.equal(data.resourceSpans[0].scopeSpans[0].spans[0].name, 'POST /pay');
    assert.deepEqual(rd.tag(), [2, 2]); // TraceByIDMetrics metrics = 2
    const m = new BinaryReader(rd.bytes());
    assert.deepEqual(m.tag(), [1, 0]); // uint64 inspectedBytes = 1
    assert.equal(String(m.uint64()), j.metrics.inspectedBytes);
    assert.equal(rd.pos, rd.len);
  });

  it('trace by id: 404 for an unknown trace, 400 for a bad id, and tenants are kept apart', async () => {
    assert.equal((await get(`/api/traces/${hex(16)}`)).status, 404);
    assert.equal((await get('/api/traces/not-hex')).status, 400);
    assert.equal((await get(`/api/traces/${T1}`, { 'x-scope-orgid': 'other' })).status, 404);
  });

  it('GET /api/search: q (TraceQL), tags, minDuration, maxDuration, start, end, limit', async () => {
    const ids = async (qs: string) => {
      const r = await get(`/api/search?${qs}`);
      assert.equal(r.status, 200, await r.clone().text());
      return ((await r.json()) as { traces: { traceID: string }[] }).traces.map((t) => t.traceID);
    };
    const s = Math.floor(now / 1000) - 600;
    const e = Math.floor(now / 1000) + 60;
    const range = `start=${s}&end=${e}`;
    assert.deepEqual(await ids(range), [T2, T1]);
    assert.deepEqual(await ids(`${range}&limit=1`), [T2]);
    assert.deepEqual(
      await ids(`${range}&q=${encodeURIComponent('{ status = error && duration > 100ms }')}`),
      [T1],
    );
    assert.deepEqual(
      await ids(
        `${range}&q=${encodeURIComponent('{ resource.service.name = "pay" } || { name = "x" }')}`,
      ),
      [T2],
    );
    assert.deepEqual(
      await ids(`${range}&tags=${encodeURIComponent('service.name=shop http.method=GET')}`),
      [T1],
    );
    assert.deepEqual(await ids(`${range}&minDuration=100ms`), [T1]);
    assert.deepEqual(await ids(`${range}&maxDuration=100ms`), [T2]);
    assert.deepEqual(await ids(`start=${s - 3600}&end=${s}`), []);
    const bad = await get(`/api/search?q=${encodeURIComponent('{ foo = 1 }')}`);
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /unknown field "foo"/);
    assert.equal((await get('/api/search?minDuration=soon')).status, 400);
  });

  it('GET /api/search/tags and /api/v2/search/tags', async () => {
    const v1 = (await (await get('/api/search/tags')).json()) as { tagNames: string[] };
    for (const t of ['service.name', 'runtime_id', 'http.method'])
      assert.ok(v1.tagNames.includes(t), t);
    const v2 = (await (await get('/api/v2/search/tags?scope=resource')).json()) as {
      scopes: { name: string; tags: string[] }[];
    };
    assert.deepEqual(
      v2.scopes.map((x) => x.name),
      ['resource'],
    );
    assert.ok(v2.scopes[0].tags.includes('service.name'));
  });

  it('GET /api/search/tag/{tag}/values and /api/v2/search/tag/{tag}/values', async () => {
    const v1 = (await (await get('/api/search/tag/service.name/values')).json()) as {
      tagValues: string[];
    };
    assert.deepEqual(v1.tagValues, ['pay', 'shop']);
    const v2 = (await (await get('/api/v2/search/tag/span.http.status_code/values')).json()) as {
      tagValues: { type: string; value: string }[];
    };
    assert.deepEqual(v2.tagValues, [{ type: 'int', value: '200' }]);
    const st = (await (await get('/api/v2/search/tag/status/values')).json()) as {
      tagValues: { type: string; value: string }[];
    };
    assert.deepEqual(
      st.tagValues.map((x) => x.value),
      ['unset', 'error'],
    );
  });

  it("OTLP/HTTP: JSON in, retries stored once, and the spec's errors", async () => {
    const t = hex(16);
    const body = traceRequestJson('json', [
      { traceId: t, spanId: hex(8), name: 'x', startMs: now, durationMs: 1 },
    ]);
    for (let i = 0; i < 2; i++) {
      const r = await fetch(`${app.url}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      assert.equal(r.status, 200);
    }
    await waitFor('the JSON trace', 20_000, async () =>
      (await get(`/api/traces/${t}`)).status === 200 ? true : undefined,
    );
    const j = (await (await get(`/api/traces/${t}`)).json()) as {
      batches: { scopeSpans: { spans: unknown[] }[] }[];
    };
    assert.equal(j.batches.flatMap((b) => b.scopeSpans.flatMap((s) => s.spans)).length, 1);
    const r405 = await get('/v1/traces');
    assert.equal(r405.status, 405);
    const m = await fetch(`${app.url}/v1/metrics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(m.status, 404);
    assert.match(
      ((await m.json()) as { message: string }).message,
      /backends\.otlp\[\] with signals: \[metrics\]/,
    );
  });

  it('OTLP/gRPC: a truncated request is INVALID_ARGUMENT; metrics with no backend are refused naming the setting', async () => {
    const b = Buffer.from(traceRequestBytes('pay', spans2));
    const bad = await grpcCall(app.grpcAddress!, `/${TRACE}/Export`, b.subarray(0, b.length - 3));
    assert.ok(!bad.ok);
    assert.equal(bad.error.code, Status.INVALID_ARGUMENT);
    const m = await grpcCall(
      app.grpcAddress!,
      '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
      Buffer.alloc(0),
    );
    assert.ok(!m.ok);
    assert.match(m.error.details, /backends\.otlp\[\] with signals: \[metrics\]/);
  });
});

describe("Tempo's trace-by-id bodies", () => {
  it('v1 renames only the top-level key, as MarshalToJSONV1 replaces its first occurrence', () => {
    const trace = {
      resourceSpans: [
        {
          resource: {
            attributes: [{ key: 'note', value: { stringValue: '"resourceSpans": inside' } }],
          },
        },
      ],
    };
    const v1 = tempoTraceJson(trace, 1, 10);
    assert.equal(
      v1,
      '{"batches":[{"resource":{"attributes":[{"key":"note","value":{"stringValue":"\\"resourceSpans\\": inside"}}]}}]}',
    );
    assert.equal(tempoTraceJson({}, 1, 0), '{}', 'an empty tempopb.Trace is {}');
  });

  it('v2 always carries metrics, empty when nothing was inspected', () => {
    assert.equal(tempoTraceJson({}, 2, 0), '{"trace":{},"metrics":{}}');
    assert.equal(
      tempoTraceJson({ resourceSpans: [{}] }, 2, 42),
      '{"trace":{"resourceSpans":[{}]},"metrics":{"inspectedBytes":"42"}}',
    );
    // protobuf: field 1 (the Trace bytes), field 2 (metrics with inspectedBytes = 42)
    assert.deepEqual(
      [...tempoTraceProto(Uint8Array.of(10, 0), 2, 42)],
      [10, 2, 10, 0, 18, 2, 8, 42],
    );
    assert.deepEqual([...tempoTraceProto(Uint8Array.of(10, 0), 1, 42)], [10, 0]);
  });
});
