import { Client, Metadata, credentials, status as Status, type ServiceError } from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  Function as PFunction,
  Line,
  Location,
  Profile,
  Sample,
  StringTable,
  ValueType,
} from 'pprof-format';
import { selectMergeStacktraces, waitFor } from '../../../test/support/query-client.js';
import { freePort, listenOnFreePort } from '../../../test/support/ports.js';
import { Metrics } from '../../observability/index.js';
import { encodePushRequest } from '../../protocol/index.js';
import { bootstrap, type RunningEmberflow } from '../../runtime/bootstrap.js';
import { loadConfig } from '../../runtime/config.js';
import { HttpFailure } from '../core/http-error.js';
import { AdmissionControl } from '../http/admission.js';
import { TenantResolver } from '../tenancy/tenant-resolver.js';
import { GrpcEdge } from './grpc-edge.js';
import { GrpcRoutes } from './grpc-routes.js';
import { grpcCodeOf, toServiceError } from './grpc-status.js';

// The gRPC edge on a real grpc-js client: Push over gRPC lands in the store like the HTTP Push,
// tenancy and credentials come from metadata, bad input and overload get their gRPC codes.

const PUSH = '/push.v1.PusherService/Push';

/** A one-sample CPU pprof stamped now, so the query range finds it. */
function cpuPprof(frames: string[], nanos: number): Buffer {
  const st = new StringTable();
  const fns = frames.map(
    (name, i) => new PFunction({ id: i + 1, name: st.dedup(name), systemName: st.dedup(name) }),
  );
  const locs = fns.map(
    (f, i) => new Location({ id: i + 1, line: [new Line({ functionId: f.id })] }),
  );
  const p = new Profile({
    sampleType: [new ValueType({ type: st.dedup('cpu'), unit: st.dedup('nanoseconds') })],
    periodType: new ValueType({ type: st.dedup('cpu'), unit: st.dedup('nanoseconds') }),
    period: 10_000_000,
    timeNanos: BigInt(Date.now()) * 1_000_000n,
    durationNanos: 10_000_000_000,
    sample: [new Sample({ locationId: [...locs].reverse().map((l) => l.id), value: [nanos] })],
    location: locs,
    function: fns,
    stringTable: st,
  });
  return Buffer.from(p.encode());
}

function pushBody(service: string, pprof: Buffer): Buffer {
  return Buffer.from(
    encodePushRequest({
      series: [
        {
          labels: [
            { name: '__name__', value: 'process_cpu' },
            { name: 'service_name', value: service },
          ],
          samples: [{ rawProfile: pprof, id: '' }],
          annotations: [],
        },
      ],
    }),
  );
}

function call(
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

/**
 * A call that sends its metadata and never a message (a client stream on the unary path: the
 * same bytes on the wire up to the message). Whatever it is answered was decided on the
 * metadata alone; it ends the call (no message, half-close) only after `endAfterMs` if it has not
 * been answered by then.
 */
function metadataOnly(
  address: string,
  path: string,
  md: Record<string, string> = {},
  endAfterMs = 3_000,
): Promise<{ error: ServiceError | null; ms: number }> {
  const client = new Client(address, credentials.createInsecure());
  const metadata = new Metadata();
  for (const [k, v] of Object.entries(md)) metadata.set(k, v);
  const t0 = Date.now();
  return new Promise((resolve) => {
    const stream = client.makeClientStreamRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      metadata,
      {},
      (err) => {
        clearTimeout(end);
        client.close();
        resolve({ error: err, ms: Date.now() - t0 });
      },
    );
    const end = setTimeout(() => stream.end(), endAfterMs);
  });
}

describe('gRPC edge: push.v1.PusherService/Push through the ingest path', () => {
  let app: RunningEmberflow;
  let address: string;
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ember-grpc-'));
    writeFileSync(
      join(dir, 'config.yaml'),
      'tenants:\n  acme:\n    credentials:\n      - bearer: s3cret\n',
    );
    app = await listenOnFreePort(async (port) =>
      bootstrap({
        env: {
          EMBER_HTTP_PORT: String(port),
          EMBER_GRPC_PORT: String(await freePort()),
          EMBER_HTTP_HOST: '127.0.0.1',
          EMBER_DATA_DIR: dir,
          EMBER_CONFIG: join(dir, 'config.yaml'),
          EMBER_LOG_LEVEL: 'error',
          EMBER_DECODE_WORKERS: '0',
          EMBER_INGEST_MAX_EVENT_LOOP_DELAY: '0',
        },
      }),
    );
    assert.ok(app.grpcAddress, 'the gRPC edge listens');
    address = app.grpcAddress;
  });
  after(async () => {
    await app.close();
  });

  it('stores a PushRequest sent over gRPC, answered with an empty PushResponse', async () => {
    const r = await call(
      address,
      PUSH,
      pushBody('grpc-push', cpuPprof(['main', 'work'], 30_000_000)),
    );
    assert.ok(r.ok, r.ok ? '' : r.error.message);
    assert.equal(r.body.length, 0);
    const now = Date.now();
    const fg = await waitFor('the pushed profile in the store', 20_000, async () => {
      const a = await selectMergeStacktraces(app.url, {
        profileTypeID: 'process_cpu:cpu:nanoseconds:cpu:nanoseconds',
        labelSelector: '{service_name="grpc-push"}',
        start: now - 3_600_000,
        end: now + 60_000,
      });
      return Number(a.flamegraph.total) > 0 ? a.flamegraph : undefined;
    });
    assert.equal(Number(fg.total), 30_000_000);
    assert.ok(fg.names.includes('work'));
  });

  it('answers INVALID_ARGUMENT to a truncated PushRequest', async () => {
    const body = pushBody('grpc-bad', cpuPprof(['main'], 1));
    const r = await call(address, PUSH, body.subarray(0, body.length - 7));
    assert.ok(!r.ok);
    assert.equal(r.error.code, Status.INVALID_ARGUMENT, r.error.details);
  });

  it('takes the tenant and credentials from metadata: UNAUTHENTICATED without them', async () => {
    const body = pushBody('grpc-tenant', cpuPprof(['main'], 1_000_000));
    const denied = await call(address, PUSH, body, { 'x-scope-orgid': 'acme' });
    assert.ok(!denied.ok);
    assert.equal(denied.error.code, Status.UNAUTHENTICATED);
    assert.match(denied.error.details, /tenant acme requires credentials/);
    const wrong = await call(address, PUSH, body, {
      'x-scope-orgid': 'acme',
      authorization: 'Bearer nope',
    });
    assert.ok(!wrong.ok);
    assert.equal(wrong.error.code, Status.UNAUTHENTICATED);
    const ok = await call(address, PUSH, body, {
      'x-scope-orgid': 'acme',
      authorization: 'Bearer s3cret',
    });
    assert.ok(ok.ok, ok.ok ? '' : ok.error.message);
  });

  it('refuses a caller without credentials on its metadata, before any message', async () => {
    const r = await metadataOnly(address, PUSH, { 'x-scope-orgid': 'acme' });
    assert.equal(r.error?.code, Status.UNAUTHENTICATED, r.error?.details);
    assert.ok(r.ms < 2_000, `answered after ${r.ms} ms, i.e. not before the message`);
  });

  it('answers UNIMPLEMENTED to a method nobody registered', async () => {
    const r = await call(address, '/push.v1.PusherService/Nope', Buffer.alloc(0));
    assert.ok(!r.ok);
    assert.equal(r.error.code, Status.UNIMPLEMENTED);
  });
});

describe('gRPC edge: admission, timeouts and registration', () => {
  const config = loadConfig({
    EMBER_INGEST_MAX_CONCURRENT: '8',
    EMBER_HTTP_HANDLER_TIMEOUT: '300ms',
    EMBER_MAX_BODY_BYTES: '1024',
  });
  let edge: GrpcEdge;
  let address: string;
  let releaseSlow: () => void = () => {};
  before(async () => {
    const routes = new GrpcRoutes();
    routes.unary({
      service: 'test.v1.Echo',
      method: 'Slow',
      handle: () =>
        new Promise<Uint8Array>((resolve) => {
          releaseSlow = () => resolve(Buffer.from('done'));
        }),
    });
    routes.unary({
      service: 'test.v1.Echo',
      method: 'Echo',
      handle: async ({ body, tenant }) => Buffer.concat([Buffer.from(`${tenant}:`), body]),
    });
    routes.unary({
      service: 'test.v1.Echo',
      method: 'Stuck',
      handle: () => new Promise<Uint8Array>(() => {}),
    });
    routes.unary({
      service: 'test.v1.Echo',
      method: 'Limited',
      handle: async () => {
        throw new HttpFailure(429, 'too fast', 'rate_limited', { 'retry-after': '7' });
      },
    });
    edge = new GrpcEdge(routes, {
      config,
      metrics: new Metrics(),
      admission: new AdmissionControl({
        maxInflightBytes: 1_000_000,
        // one call at a time, while HTTP/2 lets several streams in (EMBER_INGEST_MAX_CONCURRENT 8)
        maxConcurrent: 1,
        maxWaitMs: 0,
        maxWaiting: 16,
      }),
      tenants: new TenantResolver(config),
      draining: () => false,
    });
    const port = await edge.listen('127.0.0.1', 0);
    address = `127.0.0.1:${port}`;
    assert.throws(
      () =>
        routes.unary({
          service: 'test.v1.Echo',
          method: 'Late',
          handle: async () => Buffer.alloc(0),
        }),
      /after the server started/,
    );
  });
  after(async () => {
    releaseSlow();
    await edge.close(0);
  });

  it('hands the route the tenant and the bytes', async () => {
    const r = await call(address, '/test.v1.Echo/Echo', Buffer.from('hi'), {
      'x-scope-orgid': 't1',
    });
    assert.ok(r.ok);
    assert.equal(r.body.toString(), 't1:hi');
  });

  it('sheds a call past the admission budget with UNAVAILABLE and retry-after', async () => {
    const slow = call(address, '/test.v1.Echo/Slow', Buffer.from('x'));
    // the slow call holds the only slot once it reached its route
    await waitFor('the slow call admitted', 5_000, async () => {
      const r = await call(address, '/test.v1.Echo/Echo', Buffer.from('y'));
      return r.ok ? undefined : r.error;
    }).then((error) => {
      assert.equal(error.code, Status.UNAVAILABLE);
      assert.match(error.details, /EMBER_INGEST_MAX_CONCURRENT/);
      assert.ok(Number(error.metadata.get('retry-after')[0]) >= 1);
    });
    releaseSlow();
    const done = await slow;
    assert.ok(done.ok);
    const again = await call(address, '/test.v1.Echo/Echo', Buffer.from('z'));
    assert.ok(again.ok, 'the slot is given back');
  });

  it('answers UNAVAILABLE when the route outlives EMBER_HTTP_HANDLER_TIMEOUT, and frees its slot', async () => {
    const r = await call(address, '/test.v1.Echo/Stuck', Buffer.from('x'));
    assert.ok(!r.ok);
    assert.equal(r.error.code, Status.UNAVAILABLE);
    assert.match(r.error.details, /EMBER_HTTP_HANDLER_TIMEOUT/);
    const after = await call(address, '/test.v1.Echo/Echo', Buffer.from('z'));
    assert.ok(after.ok);
  });

  it('maps a 429 to RESOURCE_EXHAUSTED with its retry-after', async () => {
    const r = await call(address, '/test.v1.Echo/Limited', Buffer.from('x'));
    assert.ok(!r.ok);
    assert.equal(r.error.code, Status.RESOURCE_EXHAUSTED);
    assert.deepEqual(r.error.metadata.get('retry-after'), ['7']);
  });

  it('refuses a message over EMBER_MAX_BODY_BYTES with RESOURCE_EXHAUSTED', async () => {
    const r = await call(address, '/test.v1.Echo/Echo', Buffer.alloc(2048));
    assert.ok(!r.ok);
    assert.equal(r.error.code, Status.RESOURCE_EXHAUSTED);
  });
});

describe('gRPC edge: admission on metadata, before the message is read', () => {
  const config = loadConfig({
    EMBER_INGEST_MAX_CONCURRENT: '8',
    EMBER_MAX_BODY_BYTES: String(2 * 1024 * 1024),
    EMBER_HTTP_REQUEST_TIMEOUT: '700ms',
  });
  let edge: GrpcEdge;
  let address: string;
  let draining = false;
  /** free bytes downstream (MemoryBroker.roomFor in the one-process topology) */
  let room = Number.MAX_SAFE_INTEGER;
  let received = 0; // messages that reached a route
  const slow: (() => void)[] = [];
  const admission = new AdmissionControl(
    { maxInflightBytes: 1024 * 1024, maxConcurrent: 4, maxWaitMs: 0, maxWaiting: 16 },
    { downstreamRoom: () => room },
  );
  before(async () => {
    const routes = new GrpcRoutes();
    routes.unary({
      service: 'test.v1.Up',
      method: 'Load',
      handle: async ({ body }) => {
        received++;
        return Buffer.from(String(body.length));
      },
    });
    routes.unary({
      service: 'test.v1.Up',
      method: 'Hold',
      handle: () => new Promise<Uint8Array>((resolve) => slow.push(() => resolve(Buffer.alloc(0)))),
    });
    edge = new GrpcEdge(routes, {
      config,
      metrics: new Metrics(),
      admission,
      tenants: new TenantResolver(config),
      draining: () => draining,
    });
    address = `127.0.0.1:${await edge.listen('127.0.0.1', 0)}`;
  });
  after(async () => {
    for (const f of slow) f();
    await edge.close(0);
  });

  it('answers UNAVAILABLE on the metadata when the in-process queue is full; the route never sees the message', async () => {
    room = 0;
    try {
      const early = await metadataOnly(address, '/test.v1.Up/Load');
      assert.equal(early.error?.code, Status.UNAVAILABLE, early.error?.details);
      assert.match(early.error?.details ?? '', /in-process queue is full/);
      assert.ok(Number(early.error?.metadata.get('retry-after')[0]) >= 1);
      assert.ok(early.ms < 2_000, `answered after ${early.ms} ms, i.e. not before the message`);
      // a real unary call with a 1.5 MiB message gets the same answer and no route runs
      const big = await call(address, '/test.v1.Up/Load', Buffer.alloc(1536 * 1024, 7));
      assert.ok(!big.ok);
      assert.equal(big.error.code, Status.UNAVAILABLE);
      assert.equal(received, 0);
      assert.equal(admission.stats().requests, 0, 'a refused call holds no ticket');
    } finally {
      room = Number.MAX_SAFE_INTEGER;
    }
    const ok = await call(address, '/test.v1.Up/Load', Buffer.alloc(1536 * 1024, 7));
    assert.ok(ok.ok, ok.ok ? '' : ok.error.details);
    assert.equal(ok.body.toString(), String(1536 * 1024), 'the message grew past the reservation');
    assert.equal(received, 1);
  });

  it('answers UNAVAILABLE on the metadata while the process drains', async () => {
    draining = true;
    try {
      const r = await metadataOnly(address, '/test.v1.Up/Load');
      assert.equal(r.error?.code, Status.UNAVAILABLE);
      assert.match(r.error?.details ?? '', /shutting down/);
      assert.deepEqual(r.error?.metadata.get('retry-after'), ['5']);
    } finally {
      draining = false;
    }
  });

  it('gives a call that never sends its message DEADLINE_EXCEEDED after EMBER_HTTP_REQUEST_TIMEOUT, and its room back', async () => {
    const r = await metadataOnly(address, '/test.v1.Up/Load', {}, 10_000);
    assert.equal(r.error?.code, Status.DEADLINE_EXCEEDED, r.error?.details);
    assert.match(r.error?.details ?? '', /EMBER_HTTP_REQUEST_TIMEOUT/);
    assert.ok(r.ms >= 600 && r.ms < 5_000, `${r.ms} ms`);
    await waitFor('the ticket released', 2_000, async () =>
      admission.stats().requests === 0 ? true : undefined,
    );
  });

  it('refuses a message that outgrows its reservation when the budget cannot take it (UNAVAILABLE budget_exhausted)', async () => {
    // two held calls take 2 x 256 KiB of the 1 MiB budget; a 900 KB message then does not fit
    const held = [
      call(address, '/test.v1.Up/Hold', Buffer.from('a')),
      call(address, '/test.v1.Up/Hold', Buffer.from('b')),
    ];
    await waitFor('both held calls admitted', 5_000, async () =>
      slow.length === 2 ? true : undefined,
    );
    const before = received;
    const r = await call(address, '/test.v1.Up/Load', Buffer.alloc(900 * 1024, 1));
    assert.ok(!r.ok);
    assert.equal(r.error.code, Status.UNAVAILABLE);
    assert.match(r.error.details, /outgrew the 262144 bytes its call was admitted with/);
    assert.equal(received, before);
    for (const f of slow.splice(0)) f();
    for (const h of await Promise.all(held)) assert.ok(h.ok);
    const fits = await call(address, '/test.v1.Up/Load', Buffer.alloc(900 * 1024, 1));
    assert.ok(fits.ok, fits.ok ? '' : fits.error.details);
    assert.equal(admission.stats().requests, 0);
  });
});

describe('gRPC status mapping', () => {
  it('maps HTTP statuses and Connect codes to gRPC codes', () => {
    assert.equal(grpcCodeOf(400), Status.INVALID_ARGUMENT);
    assert.equal(grpcCodeOf(415), Status.INVALID_ARGUMENT);
    assert.equal(grpcCodeOf(422), Status.INVALID_ARGUMENT);
    assert.equal(grpcCodeOf(401), Status.UNAUTHENTICATED);
    assert.equal(grpcCodeOf(413), Status.RESOURCE_EXHAUSTED);
    assert.equal(grpcCodeOf(429), Status.RESOURCE_EXHAUSTED);
    assert.equal(grpcCodeOf(503), Status.UNAVAILABLE);
    assert.equal(grpcCodeOf(415, 'unimplemented'), Status.UNIMPLEMENTED);
    assert.equal(grpcCodeOf(500), Status.INTERNAL);
    assert.equal(toServiceError(new Error('boom')).code, Status.INTERNAL);
  });
});
