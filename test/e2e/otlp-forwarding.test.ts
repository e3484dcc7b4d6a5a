import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { fromBinary } from '@bufbuild/protobuf';
import { ExportTraceServiceRequestSchema } from '../../libs/protocol/otlp/gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js';
import { traceRequestBytes, type TestSpan } from '../../libs/protocol/otlp/testing.js';
import { hexOf } from '../../libs/protocol/index.js';
import { startEmberflow, type EmberProcess } from '../support/emberflow-process.js';
import {
  ensureOtelCollector,
  startOtelCollector,
  type RunningCollector,
} from '../support/otel-collector.js';
import { freePort, listenOnFreePort } from '../support/ports.js';
import { waitFor } from '../support/query-client.js';
import { suiteEnv } from '../support/services.js';

// Forwarding to a real OTLP receiver: an OpenTelemetry Collector built from its Go modules
// (test/otelcol: OTLP receiver, OTLP/HTTP exporter), started by the test, which passes what it
// receives on to a sink the test reads (the collector's queue and retries are off, so it answers
// Emberflow only once the sink has the spans). Emberflow runs on the real Kafka broker and Redis.
// Every span sent must reach the sink exactly once, also when the collector is down for a while
// and comes back; metrics configured for the collector are forwarded too.

describe('OTLP forwarding to an OpenTelemetry Collector, through a receiver outage', () => {
  const received = new Map<string, number>();
  const paths: string[] = [];
  let sink: Server;
  let collector: RunningCollector | undefined;
  let bin: string;
  let collectorPort: number;
  let sinkUrl: string;
  let ember: EmberProcess;

  before(async () => {
    bin = ensureOtelCollector();
    sink = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let body = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        paths.push(req.url ?? '');
        if (req.url === '/v1/traces') {
          const r = fromBinary(ExportTraceServiceRequestSchema, body);
          for (const rs of r.resourceSpans)
            for (const ss of rs.scopeSpans)
              for (const s of ss.spans) {
                const id = hexOf(s.spanId);
                received.set(id, (received.get(id) ?? 0) + 1);
              }
        }
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
    const sinkPort = await listenOnFreePort(
      (port) =>
        new Promise<number>((resolve, reject) => {
          sink.once('error', reject);
          sink.listen(port, '127.0.0.1', () => resolve(port));
        }),
    );
    sinkUrl = `http://127.0.0.1:${sinkPort}`;
    collectorPort = await freePort();
    collector = await startOtelCollector(bin, collectorPort, sinkUrl);
    const env = suiteEnv();
    const cfg = join(env.EMBER_DATA_DIR, 'emberflow.yaml');
    writeFileSync(
      cfg,
      `backends:
  otlp:
    - name: collector
      url: http://127.0.0.1:${collectorPort}
      signals: [traces, metrics]
      retry: { initialInterval: 200ms, maxInterval: 1s, maxElapsed: 5m }
      batch: { flushInterval: 50ms }
`,
    );
    ember = await startEmberflow({ targets: 'all', env: { ...env, EMBER_CONFIG: cfg } });
  });

  after(async () => {
    await ember?.stop();
    await collector?.stop();
    await new Promise((r) => sink?.close(r));
  });

  const send = async (n: number): Promise<string[]> => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const traceId = randomBytes(16).toString('hex');
      const spans: TestSpan[] = [0, 1].map((j) => ({
        traceId,
        spanId: randomBytes(8).toString('hex'),
        name: `op-${i}-${j}`,
        startMs: Date.now() - 1000,
        durationMs: 10 + j,
      }));
      const r = await fetch(`${ember.url}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf' },
        body: traceRequestBytes('forwarded', spans),
      });
      assert.equal(r.status, 200, await r.clone().text());
      ids.push(...spans.map((s) => s.spanId));
    }
    return ids;
  };

  const allArrived = (ids: string[]) => async () =>
    ids.every((id) => received.has(id)) ? true : undefined;

  it('delivers every span once, before, during and after the collector is down', async () => {
    const first = await send(5);
    await waitFor('the first spans at the sink', 60_000, allArrived(first));

    await collector!.stop();
    collector = undefined;
    const during = await send(5);
    // the spans wait in Kafka and the sending chain's retries while the receiver is away
    await new Promise((r) => setTimeout(r, 3000));
    assert.ok(
      during.every((id) => !received.has(id)),
      'nothing can arrive while the collector is down',
    );
    collector = await startOtelCollector(bin, collectorPort, sinkUrl);
    const later = await send(3);
    await waitFor('every span at the sink', 90_000, allArrived([...first, ...during, ...later]));
    // let any late duplicate show up before counting
    await new Promise((r) => setTimeout(r, 2000));
    const all = [...first, ...during, ...later];
    assert.equal(all.length, 26);
    for (const id of all)
      assert.equal(received.get(id), 1, `span ${id} arrived ${received.get(id)} times`);
    assert.equal(received.size, all.length);
  });

  it('forwards metrics to the backend configured for them; logs are refused', async () => {
    const metrics = {
      resourceMetrics: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'm' } }] },
          scopeMetrics: [
            {
              metrics: [
                {
                  name: 'requests',
                  sum: {
                    aggregationTemporality: 2,
                    isMonotonic: true,
                    dataPoints: [
                      { asInt: '3', timeUnixNano: String(BigInt(Date.now()) * 1_000_000n) },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
    };
    const r = await fetch(`${ember.url}/otel/v1/metrics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(metrics),
    });
    assert.equal(r.status, 200, await r.clone().text());
    await waitFor('metrics at the sink', 60_000, async () =>
      paths.includes('/v1/metrics') ? true : undefined,
    );
    const logs = await fetch(`${ember.url}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(logs.status, 404);
  });
});
