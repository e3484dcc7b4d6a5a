import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Metrics } from '../../observability/index.js';
import { HttpFailure } from '../core/http-error.js';
import { GrpcRoutes, type GrpcUnaryRoute } from './grpc-routes.js';

// The upload route factory every ingest method of the gRPC edge is made with: one place that
// counts outcomes, counts refusals as discards and logs them, so the routes cannot drift apart.

function uploadRoute(accept: () => Promise<unknown>): {
  route: GrpcUnaryRoute;
  metrics: Metrics;
  warnings: string[];
} {
  const routes = new GrpcRoutes();
  const metrics = new Metrics();
  const warnings: string[] = [];
  routes.upload(
    {
      service: 'test.v1.Upload',
      method: 'Send',
      format: 'otlp_traces',
      spy: 'otlp',
      rejected: 'test upload rejected',
      logFields: { signal: 'traces' },
      accept,
    },
    { metrics, log: { warn: (m: string) => warnings.push(m) } },
  );
  const route = routes.freeze().get('test.v1.Upload')?.[0];
  assert.ok(route);
  return { route, metrics, warnings };
}

const call = {
  tenant: 't1',
  body: Buffer.from('x'),
  metadata: {},
  signal: new AbortController().signal,
};

async function sample(m: Metrics, name: string): Promise<string> {
  return (await m.registry.getSingleMetricAsString(name)) ?? '';
}

describe('GrpcRoutes.upload', () => {
  it('answers an empty message once accepted and counts a 200 under the route format', async () => {
    let seen: unknown;
    const { route, metrics, warnings } = uploadRoute(async () => {
      seen = call.body.toString();
    });
    const res = await route.handle(call);
    assert.equal(res.length, 0);
    assert.equal(seen, 'x');
    assert.match(
      await sample(metrics, 'emberflow_ingest_requests_total'),
      /format="otlp_traces",spy="otlp",tenant="t1",status="200"} 1/,
    );
    assert.deepEqual(warnings, []);
  });

  it('rethrows a refusal, counted with its status, as a discard with its reason, and logged', async () => {
    const { route, metrics, warnings } = uploadRoute(async () => {
      throw new HttpFailure(429, 'slow down', 'rate_limited', { 'retry-after': '3' });
    });
    await assert.rejects(route.handle(call), (e) => e instanceof HttpFailure && e.status === 429);
    assert.match(await sample(metrics, 'emberflow_ingest_requests_total'), /status="429"} 1/);
    assert.match(
      await sample(metrics, 'emberflow_discarded_profiles_total'),
      /reason="rate_limited",tenant="t1"} 1/,
    );
    assert.equal(warnings.length, 1);
    const line = JSON.parse(warnings[0]) as Record<string, unknown>;
    assert.deepEqual(
      [line.msg, line.transport, line.signal, line.status, line.reason, line.tenant],
      ['test upload rejected', 'grpc', 'traces', 429, 'rate_limited', 't1'],
    );
  });

  it('counts an unexpected error as a 500, not as a discard', async () => {
    const { route, metrics } = uploadRoute(async () => {
      throw new Error('boom');
    });
    await assert.rejects(route.handle(call), /boom/);
    assert.match(await sample(metrics, 'emberflow_ingest_requests_total'), /status="500"} 1/);
    assert.doesNotMatch(await sample(metrics, 'emberflow_discarded_profiles_total'), /tenant="t1"/);
  });
});
