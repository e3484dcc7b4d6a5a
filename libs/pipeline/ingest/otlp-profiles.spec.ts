import { fromBinary, toJsonString } from '@bufbuild/protobuf';
import { Client, Metadata, credentials, status as Status, type ServiceError } from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { fixturePath } from '../../../test/support/paths.js';
import { freePort, listenOnFreePort } from '../../../test/support/ports.js';
import { selectMergeStacktraces, waitFor } from '../../../test/support/query-client.js';
import { decodeUpload } from '../../decoders/index.js';
import { ExportProfilesServiceRequestSchema } from '../../protocol/index.js';
import { StatusSchema } from '../../protocol/otlp/gen/google/rpc/status_pb.js';
import { bootstrap, type RunningEmberflow } from '../../runtime/bootstrap.js';

// OTLP profiles in, over HTTP (protobuf, JSON, gzip) and gRPC, on the embedded defaults: what
// is accepted lands in the store as Pyroscope's series, and bad input gets the OTLP/HTTP
// statuses with a google.rpc.Status body in the request's encoding.

const FIXTURE = readFileSync(fixturePath('pyroscope/otlp/otel-ebpf-profile.pb.bin'));
const EXPORT = '/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export';
// the fixture's profiles were taken at 1774910497 s
const RANGE = { start: 1_774_910_000_000, end: 1_774_911_000_000 };

/** The fixture as OTLP/JSON: the protobuf JSON mapping with ids in hex. */
function fixtureJson(): string {
  const req = fromBinary(ExportProfilesServiceRequestSchema, FIXTURE);
  const json = JSON.parse(toJsonString(ExportProfilesServiceRequestSchema, req)) as {
    dictionary?: { linkTable?: { traceId?: string; spanId?: string }[] };
  };
  for (const l of json.dictionary?.linkTable ?? []) {
    if (l.traceId) l.traceId = Buffer.from(l.traceId, 'base64').toString('hex');
    if (l.spanId) l.spanId = Buffer.from(l.spanId, 'base64').toString('hex');
  }
  return JSON.stringify(json);
}

async function total(url: string, tenant: string, type: string): Promise<number> {
  const a = await selectMergeStacktraces(
    url,
    { profileTypeID: type, labelSelector: '{service_name="unknown_service"}', ...RANGE },
    { 'x-scope-orgid': tenant },
  );
  return Number(a.flamegraph.total);
}

/** What the decoder makes of the fixture for unknown_service, per profile type. */
function decodedTotals(): { cpu: number; offCpu: number } {
  const out = { cpu: 0, offCpu: 0 };
  for (const s of decodeUpload({
    format: 'otlp',
    body: FIXTURE,
    contentType: 'application/x-protobuf',
    params: {} as never,
  })) {
    if (!s.labels.some((l) => l.name === 'service_name' && l.value === 'unknown_service')) continue;
    const name = s.labels.find((l) => l.name === '__name__')?.value;
    const sum = s.profile.sample.reduce((n, x) => n + Number(x.value[0]), 0);
    if (name === 'process_cpu') out.cpu += sum;
    if (name === 'off_cpu') out.offCpu += sum;
  }
  return out;
}

/** Waits until the tenant's stored totals are the decoded ones (the series arrive in batches). */
async function stored(url: string, tenant: string): Promise<{ cpu: number; offCpu: number }> {
  const want = decodedTotals();
  let last = { cpu: 0, offCpu: 0 };
  try {
    return await waitFor(`tenant ${tenant}'s OTLP profiles in the store`, 30_000, async () => {
      const cpu = await total(url, tenant, 'process_cpu:cpu:nanoseconds:cpu:nanoseconds');
      const offCpu = await total(url, tenant, 'off_cpu:off_cpu:nanoseconds::');
      last = { cpu, offCpu };
      return cpu === want.cpu && offCpu === want.offCpu ? last : undefined;
    });
  } catch (err) {
    throw new Error(
      `${(err as Error).message}; stored ${JSON.stringify(last)}, decoded ${JSON.stringify(want)}`,
    );
  }
}

function grpcExport(
  address: string,
  body: Buffer,
  tenant: string,
): Promise<{ ok: true } | { ok: false; error: ServiceError }> {
  const client = new Client(address, credentials.createInsecure());
  const md = new Metadata();
  md.set('x-scope-orgid', tenant);
  return new Promise((resolve) =>
    client.makeUnaryRequest(
      EXPORT,
      (b: Buffer) => b,
      (b: Buffer) => b,
      body,
      md,
      (err) => {
        client.close();
        resolve(err ? { ok: false, error: err } : { ok: true });
      },
    ),
  );
}

describe('OTLP profiles: /v1development/profiles and ProfilesService/Export', () => {
  let app: RunningEmberflow;
  const post = (body: Buffer | string, headers: Record<string, string>) =>
    fetch(`${app.url}/v1development/profiles`, { method: 'POST', headers, body });

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ember-otlp-'));
    writeFileSync(
      join(dir, 'config.yaml'),
      [
        'backends:',
        '  embedded:',
        '    retention: 3650d', // the fixture is months old
        'tenants:',
        '  slow:',
        '    limits:',
        '      ingestionRateBytes: 1000',
        '      ingestionBurstBytes: 1000',
        '',
      ].join('\n'),
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
          EMBER_MAX_BODY_BYTES: String(1024 * 1024),
        },
      }),
    );
  });
  after(async () => {
    await app.close();
  });

  it('stores the eBPF fixture sent as protobuf: process_cpu and off_cpu for unknown_service', async () => {
    const r = await post(FIXTURE, {
      'content-type': 'application/x-protobuf',
      'x-scope-orgid': 'proto',
    });
    assert.equal(r.status, 200, await r.clone().text());
    assert.equal(r.headers.get('content-type'), 'application/x-protobuf');
    assert.equal((await r.arrayBuffer()).byteLength, 0);
    const t = await stored(app.url, 'proto');
    // the sum of the golden samples (otel-ebpf-profile-cpu.out.json)
    assert.equal(t.cpu, 500_000_000);
    assert.ok(t.offCpu > 0);
    // an agent's retry of the same request is a duplicate: stored once
    const again = await post(FIXTURE, {
      'content-type': 'application/x-protobuf',
      'x-scope-orgid': 'proto',
    });
    assert.equal(again.status, 200);
    const marker = await post(gzipSync(FIXTURE), {
      'content-type': 'application/x-protobuf',
      'content-encoding': 'gzip',
      'x-scope-orgid': 'proto-marker',
    });
    assert.equal(marker.status, 200);
    await stored(app.url, 'proto-marker'); // uploads after the retry are stored by now
    assert.deepEqual(await stored(app.url, 'proto'), t);
  });

  it('stores the same from OTLP/JSON, from gzip and from gRPC', async () => {
    const json = await post(fixtureJson(), {
      'content-type': 'application/json',
      'x-scope-orgid': 'json',
    });
    assert.equal(json.status, 200);
    assert.equal(await json.text(), '{}');
    const gz = await post(gzipSync(FIXTURE), {
      'content-type': 'application/x-protobuf',
      'content-encoding': 'gzip',
      'x-scope-orgid': 'gz',
    });
    assert.equal(gz.status, 200);
    assert.ok(app.grpcAddress);
    const g = await grpcExport(app.grpcAddress, FIXTURE, 'grpc');
    assert.ok(g.ok, g.ok ? '' : g.error.message);
    const want = await stored(app.url, 'proto');
    for (const tenant of ['json', 'gz', 'grpc'])
      assert.deepEqual(await stored(app.url, tenant), want);
  });

  it('answers 400 with a protobuf google.rpc.Status to a truncated protobuf body', async () => {
    const r = await post(FIXTURE.subarray(0, FIXTURE.length - 100), {
      'content-type': 'application/x-protobuf',
    });
    assert.equal(r.status, 400);
    assert.equal(r.headers.get('content-type'), 'application/x-protobuf');
    const st = fromBinary(StatusSchema, new Uint8Array(await r.arrayBuffer()));
    assert.equal(st.code, Status.INVALID_ARGUMENT);
    assert.match(st.message, /not an ExportProfilesServiceRequest/);
  });

  it('answers 400 with a JSON google.rpc.Status to broken JSON', async () => {
    const r = await post('{"resourceProfiles": [', { 'content-type': 'application/json' });
    assert.equal(r.status, 400);
    const st = (await r.json()) as { code: number; message: string };
    assert.equal(st.code, Status.INVALID_ARGUMENT);
    assert.match(st.message, /not JSON/);
  });

  it('answers 400 to a request without a dictionary, as Pyroscope does', async () => {
    const r = await post(Buffer.from('{}'), { 'content-type': 'application/json' });
    assert.equal(r.status, 400);
    assert.match(((await r.json()) as { message: string }).message, /dictionary/);
  });

  it('answers 415 to a content type or encoding OTLP/HTTP does not define', async () => {
    const ct = await post(FIXTURE, { 'content-type': 'text/plain' });
    assert.equal(ct.status, 415);
    assert.match(
      fromBinary(StatusSchema, new Uint8Array(await ct.arrayBuffer())).message,
      /application\/x-protobuf/,
    );
    const enc = await post(FIXTURE, {
      'content-type': 'application/x-protobuf',
      'content-encoding': 'br',
    });
    assert.equal(enc.status, 415);
  });

  it('answers 413 to a body over EMBER_MAX_BODY_BYTES and to a gzip bomb', async () => {
    const big = await post(Buffer.alloc(2 * 1024 * 1024), {
      'content-type': 'application/x-protobuf',
    });
    assert.equal(big.status, 413);
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
    assert.ok(bomb.length < 1024 * 1024);
    const r = await post(bomb, {
      'content-type': 'application/x-protobuf',
      'content-encoding': 'gzip',
    });
    assert.equal(r.status, 413);
    const st = fromBinary(StatusSchema, new Uint8Array(await r.arrayBuffer()));
    assert.equal(st.code, Status.RESOURCE_EXHAUSTED);
    assert.match(st.message, /inflates past 1048576 bytes/);
  });

  it('answers 429 with Retry-After past the tenant rate', async () => {
    const first = await post(FIXTURE, {
      'content-type': 'application/x-protobuf',
      'x-scope-orgid': 'slow',
    });
    assert.equal(first.status, 200);
    const second = await post(gzipSync(FIXTURE), {
      'content-type': 'application/x-protobuf',
      'content-encoding': 'gzip',
      'x-scope-orgid': 'slow',
    });
    assert.equal(second.status, 429);
    assert.ok(Number(second.headers.get('retry-after')) >= 1);
    const st = fromBinary(StatusSchema, new Uint8Array(await second.arrayBuffer()));
    assert.equal(st.code, Status.RESOURCE_EXHAUSTED);
  });

  it('answers INVALID_ARGUMENT over gRPC to a truncated request', async () => {
    assert.ok(app.grpcAddress);
    const r = await grpcExport(app.grpcAddress, FIXTURE.subarray(0, 1000), 'grpc-bad');
    assert.ok(!r.ok);
    assert.equal(r.error.code, Status.INVALID_ARGUMENT);
  });
});
