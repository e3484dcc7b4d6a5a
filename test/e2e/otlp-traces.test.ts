import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { fromBinary } from '@bufbuild/protobuf';
import { BinaryReader } from '@bufbuild/protobuf/wire';
import { TracesDataSchema } from '../../libs/protocol/index.js';
import {
  traceRequestBytes,
  traceRequestJson,
  type TestSpan,
} from '../../libs/protocol/otlp/testing.js';
import { startEmberflow, type EmberProcess } from '../support/emberflow-process.js';
import { waitFor } from '../support/query-client.js';
import { suiteEnv } from '../support/services.js';

// OTLP traces end to end on the real Kafka broker and Redis, in both topologies: spans sent to
// Datakit's path and the standard one, in protobuf (gzip) and JSON, come back through Tempo's
// API; retries are stored once; tenants are kept apart; bad input gets OTLP/HTTP's answers.

interface Running {
  ingest: string;
  query: string;
  procs: EmberProcess[];
}

const topologies: { name: string; start(env: Record<string, string>): Promise<Running> }[] = [
  {
    name: 'all targets in one process',
    async start(env) {
      const p = await startEmberflow({ targets: 'all', env });
      return { ingest: p.url, query: p.url, procs: [p] };
    },
  },
  {
    name: 'three processes',
    async start(env) {
      const exporter = await startEmberflow({ targets: 'exporter', env });
      const decoder = await startEmberflow({ targets: 'decoder', env });
      const ingest = await startEmberflow({ targets: 'ingest', env });
      return { ingest: ingest.url, query: exporter.url, procs: [ingest, decoder, exporter] };
    },
  },
];

const hex = (n: number): string => randomBytes(n).toString('hex');

function someTrace(name = 'GET /cart'): { traceId: string; spans: TestSpan[] } {
  const traceId = hex(16);
  const root = hex(8);
  const now = Date.now();
  return {
    traceId,
    spans: [
      {
        traceId,
        spanId: root,
        name,
        startMs: now - 2000,
        durationMs: 400,
        attributes: { 'http.method': 'GET' },
      },
      {
        traceId,
        spanId: hex(8),
        parentSpanId: root,
        name: 'SELECT',
        startMs: now - 1990,
        durationMs: 150,
        kind: 3,
        status: 2,
      },
    ],
  };
}

async function post(
  url: string,
  body: Uint8Array | string,
  headers: Record<string, string>,
): Promise<Response> {
  return fetch(url, { method: 'POST', headers, body });
}

async function traceOf(
  query: string,
  traceId: string,
  tenant = 'anonymous',
): Promise<
  | {
      batches: { scopeSpans: { spans: { traceId: string; spanId: string; name: string }[] }[] }[];
    }
  | undefined
> {
  const r = await fetch(`${query}/api/traces/${traceId}`, { headers: { 'x-scope-orgid': tenant } });
  if (r.status === 404) return undefined;
  assert.equal(r.status, 200, await r.clone().text());
  // Tempo's answer (tempopb.MarshalToJSONV1): exactly application/json, {"batches":[...]}
  assert.equal(r.headers.get('content-type'), 'application/json');
  return (await r.json()) as never;
}

/** Tempo's JSON writes ids as jsonpb writes bytes: standard base64. */
const b64 = (hexId: string): string => Buffer.from(hexId, 'hex').toString('base64');

/** the span ids of a trace, back in hex, after checking each is base64 of the trace's own id */
const spanIdsOf = (t: NonNullable<Awaited<ReturnType<typeof traceOf>>>, traceId: string) =>
  t.batches
    .flatMap((b) => b.scopeSpans.flatMap((s) => s.spans))
    .map((x) => {
      assert.equal(x.traceId, b64(traceId));
      assert.match(x.spanId, /^[A-Za-z0-9+/]{11}=$/, 'an 8-byte id in padded base64');
      return Buffer.from(x.spanId, 'base64').toString('hex');
    })
    .sort();

for (const topology of topologies) {
  describe(`OTLP traces on real Kafka and Redis: ${topology.name}`, () => {
    let running: Running;

    before(async () => {
      running = await topology.start(suiteEnv({ EMBER_MAX_BODY_BYTES: String(1024 * 1024) }));
    });
    after(async () => {
      for (const p of running?.procs ?? []) await p.stop();
    });

    it("takes gzip protobuf on Datakit's /otel/v1/traces and serves it through /api/traces and /api/v2/traces", async () => {
      const { traceId, spans } = someTrace();
      const r = await post(
        `${running.ingest}/otel/v1/traces`,
        gzipSync(traceRequestBytes('shop', spans, { runtime_id: 'rt-1' })),
        { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' },
      );
      assert.equal(r.status, 200, await r.clone().text());
      assert.equal(r.headers.get('content-type'), 'application/x-protobuf');
      const t = await waitFor('the trace', 30_000, () => traceOf(running.query, traceId));
      assert.deepEqual(spanIdsOf(t, traceId), spans.map((s) => s.spanId).sort());

      const v2json = await fetch(`${running.query}/api/v2/traces/${traceId}`);
      assert.equal(v2json.headers.get('content-type'), 'application/json');
      // tempopb.TraceByIDResponse in jsonpb: trace, then metrics (status COMPLETE is left out)
      const body = (await v2json.json()) as {
        trace: { resourceSpans: { scopeSpans: { spans: { spanId: string }[] }[] }[] };
        metrics: { inspectedBytes: string };
      };
      assert.deepEqual(Object.keys(body), ['trace', 'metrics']);
      assert.deepEqual(
        body.trace.resourceSpans
          .flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((x) => x.spanId)))
          .sort(),
        spans.map((x) => b64(x.spanId)).sort(),
      );
      assert.ok(Number(body.metrics.inspectedBytes) > 0);

      const v2 = await fetch(`${running.query}/api/v2/traces/${traceId}`, {
        headers: { accept: 'application/protobuf' },
      });
      assert.equal(v2.status, 200);
      assert.equal(v2.headers.get('content-type'), 'application/protobuf');
      // tempopb.TraceByIDResponse { Trace trace = 1; TraceByIDMetrics metrics = 2 }, Trace
      // holding the ResourceSpans
      const reader = new BinaryReader(new Uint8Array(await v2.arrayBuffer()));
      const [field] = reader.tag();
      assert.equal(field, 1);
      const data = fromBinary(TracesDataSchema, reader.bytes());
      assert.equal(reader.tag()[0], 2);
      const names = data.resourceSpans.flatMap((rs) =>
        rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.name)),
      );
      assert.deepEqual(names.sort(), ['GET /cart', 'SELECT']);
      const svc = data.resourceSpans[0].resource?.attributes.find((a) => a.key === 'runtime_id');
      assert.equal(svc?.value?.value.value, 'rt-1');
    });

    it('takes OTLP/JSON on /v1/traces; a retried request is stored once; search finds it', async () => {
      const { traceId, spans } = someTrace(`checkout-${hex(3)}`);
      const json = traceRequestJson('payments', spans);
      for (let i = 0; i < 3; i++) {
        const r = await post(`${running.ingest}/v1/traces`, json, {
          'content-type': 'application/json',
        });
        assert.equal(r.status, 200, await r.clone().text());
        assert.equal(await r.text(), '{}');
      }
      const t = await waitFor('the trace', 30_000, () => traceOf(running.query, traceId));
      assert.equal(spanIdsOf(t, traceId).length, 2, 'each span once');
      const q = encodeURIComponent(
        `{ resource.service.name = "payments" && name = "${spans[0].name}" }`,
      );
      const s = await fetch(
        `${running.query}/api/search?q=${q}&start=${Math.floor(Date.now() / 1000) - 600}&end=${Math.floor(Date.now() / 1000) + 60}`,
      );
      assert.equal(s.status, 200);
      const found = (await s.json()) as {
        traces: { traceID: string; rootServiceName: string; durationMs: number }[];
      };
      assert.deepEqual(
        found.traces.map((x) => x.traceID),
        [traceId],
      );
      assert.equal(found.traces[0].rootServiceName, 'payments');
      assert.equal(found.traces[0].durationMs, 400);
      const values = await fetch(`${running.query}/api/v2/search/tag/resource.service.name/values`);
      const v = (await values.json()) as { tagValues: { value: string }[] };
      assert.ok(v.tagValues.some((x) => x.value === 'payments'));
    });

    it("keeps one tenant's traces from another", async () => {
      const { traceId, spans } = someTrace();
      const r = await post(`${running.ingest}/v1/traces`, traceRequestBytes('private', spans), {
        'content-type': 'application/x-protobuf',
        'x-scope-orgid': 'tenant-a',
      });
      assert.equal(r.status, 200);
      await waitFor('the trace', 30_000, () => traceOf(running.query, traceId, 'tenant-a'));
      assert.equal(await traceOf(running.query, traceId, 'tenant-b'), undefined);
    });

    it('answers bad input as OTLP/HTTP does: 400, 415, 413 with a google.rpc.Status', async () => {
      const body = traceRequestBytes('shop', someTrace().spans);
      const truncated = await post(
        `${running.ingest}/v1/traces`,
        body.subarray(0, body.length - 5),
        {
          'content-type': 'application/x-protobuf',
        },
      );
      assert.equal(truncated.status, 400);
      assert.equal(truncated.headers.get('content-type'), 'application/x-protobuf');
      const status = new BinaryReader(new Uint8Array(await truncated.arrayBuffer()));
      assert.deepEqual(status.tag(), [1, 0]);
      assert.equal(status.int32(), 3); // INVALID_ARGUMENT

      const wrongType = await post(`${running.ingest}/v1/traces`, body, {
        'content-type': 'text/plain',
      });
      assert.equal(wrongType.status, 415);
      assert.match(
        ((await wrongType.json()) as { message: string }).message,
        /application\/x-protobuf/,
      );

      const oversize = await post(`${running.ingest}/v1/traces`, Buffer.alloc(2 * 1024 * 1024), {
        'content-type': 'application/json',
      });
      assert.equal(oversize.status, 413);
      assert.equal(((await oversize.json()) as { code: number }).code, 8);

      const bomb = await post(
        `${running.ingest}/otel/v1/traces`,
        gzipSync(Buffer.alloc(64 * 1024 * 1024)),
        {
          'content-type': 'application/x-protobuf',
          'content-encoding': 'gzip',
        },
      );
      assert.equal(bomb.status, 413);
    });

    it('refuses metrics and logs with no backend for them, naming the setting', async () => {
      for (const path of ['/otel/v1/metrics', '/v1/logs']) {
        const r = await post(`${running.ingest}${path}`, '{}', {
          'content-type': 'application/json',
        });
        assert.equal(r.status, 404);
        assert.match(
          ((await r.json()) as { message: string }).message,
          /backends\.otlp\[\] with signals/,
        );
      }
    });
  });
}
