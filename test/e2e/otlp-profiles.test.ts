import { fromBinary, toJsonString } from '@bufbuild/protobuf';
import { Client, Metadata, credentials } from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { decodeUpload } from '../../libs/decoders/index.js';
import { ExportProfilesServiceRequestSchema } from '../../libs/protocol/index.js';
import { startEmberflow, type EmberProcess } from '../support/emberflow-process.js';
import { fixturePath } from '../support/paths.js';
import { selectMergeStacktraces, waitFor } from '../support/query-client.js';
import { suiteEnv, testServices } from '../support/services.js';

// Issue 16, OTLP profiles end to end on the real Kafka broker and Redis, in both topologies: the
// OTel eBPF profiler's request (shared fixture) sent over OTLP/HTTP protobuf, OTLP/HTTP JSON
// with gzip, and OTLP/gRPC, must come out of the query API as Pyroscope's series
// (process_cpu and off_cpu for unknown_service) with the totals the golden gives, once each
// even when the client retries.

const FIXTURE = readFileSync(fixturePath('pyroscope/otlp/otel-ebpf-profile.pb.bin'));
const GOLDEN = JSON.parse(
  readFileSync(fixturePath('pyroscope/otlp/otel-ebpf-profile-cpu.out.json'), 'utf8'),
) as { samples: { values: string }[] };
const CPU = 'process_cpu:cpu:nanoseconds:cpu:nanoseconds';
const OFF_CPU = 'off_cpu:off_cpu:nanoseconds::';
const EXPORT = '/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export';
// the fixture's profiles were taken at 1774910497 s
const RANGE = { start: 1_774_910_000_000, end: 1_774_911_000_000 };

function fixtureJson(): string {
  const json = JSON.parse(
    toJsonString(
      ExportProfilesServiceRequestSchema,
      fromBinary(ExportProfilesServiceRequestSchema, FIXTURE),
    ),
  ) as { dictionary?: { linkTable?: { traceId?: string; spanId?: string }[] } };
  for (const l of json.dictionary?.linkTable ?? []) {
    if (l.traceId) l.traceId = Buffer.from(l.traceId, 'base64').toString('hex');
    if (l.spanId) l.spanId = Buffer.from(l.spanId, 'base64').toString('hex');
  }
  return JSON.stringify(json);
}

/** unknown_service's totals per profile type, as the decoder converts the fixture */
function decodedTotals(): Record<string, number> {
  const out: Record<string, number> = { [CPU]: 0, [OFF_CPU]: 0 };
  for (const s of decodeUpload({
    format: 'otlp',
    body: FIXTURE,
    contentType: 'application/x-protobuf',
    params: {} as never,
  })) {
    if (!s.labels.some((l) => l.name === 'service_name' && l.value === 'unknown_service')) continue;
    const name = s.labels.find((l) => l.name === '__name__')?.value;
    const sum = s.profile.sample.reduce((n, x) => n + Number(x.value[0]), 0);
    if (name === 'process_cpu') out[CPU] += sum;
    if (name === 'off_cpu') out[OFF_CPU] += sum;
  }
  return out;
}

function grpcExport(address: string, tenant: string): Promise<void> {
  const client = new Client(address, credentials.createInsecure());
  const md = new Metadata();
  md.set('x-scope-orgid', tenant);
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(
      EXPORT,
      (b: Buffer) => b,
      (b: Buffer) => b,
      FIXTURE,
      md,
      (err) => {
        client.close();
        if (err) reject(err);
        else resolve();
      },
    ),
  );
}

interface Running {
  ingest: EmberProcess;
  query: string;
  procs: EmberProcess[];
}

const topologies: { name: string; start(env: Record<string, string>): Promise<Running> }[] = [
  {
    name: 'all targets in one process',
    async start(env) {
      const p = await startEmberflow({ targets: 'all', env, grpc: true });
      return { ingest: p, query: p.url, procs: [p] };
    },
  },
  {
    name: 'three processes',
    async start(env) {
      const exporter = await startEmberflow({ targets: 'exporter', env });
      const decoder = await startEmberflow({ targets: 'decoder', env });
      const ingest = await startEmberflow({ targets: 'ingest', env, grpc: true });
      return { ingest, query: exporter.url, procs: [ingest, decoder, exporter] };
    },
  },
];

for (const topology of topologies) {
  describe(`OTLP profiles on real Kafka and Redis: ${topology.name}`, () => {
    const svc = testServices();
    let running: Running;
    const want = decodedTotals();

    before(async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ember-otlp-e2e-'));
      writeFileSync(join(dir, 'config.yaml'), 'backends:\n  embedded:\n    retention: 3650d\n');
      running = await topology.start(suiteEnv({ EMBER_CONFIG: join(dir, 'config.yaml') }));
      console.log(
        `# topology "${topology.name}": kafka ${svc.kafkaBrokers}, redis ${svc.redisUrl}`,
      );
    });
    after(async () => {
      for (const p of running?.procs ?? []) await p.stop();
    });

    const totals = async (tenant: string): Promise<Record<string, number>> => {
      const out: Record<string, number> = {};
      for (const type of [CPU, OFF_CPU]) {
        const a = await selectMergeStacktraces(
          running.query,
          { profileTypeID: type, labelSelector: '{service_name="unknown_service"}', ...RANGE },
          { 'x-scope-orgid': tenant },
        );
        out[type] = Number(a.flamegraph.total);
      }
      return out;
    };
    const storedOnce = (tenant: string) =>
      waitFor(`tenant ${tenant}'s profiles`, 60_000, async () => {
        const t = await totals(tenant);
        return t[CPU] === want[CPU] && t[OFF_CPU] === want[OFF_CPU] ? t : undefined;
      });

    it('stores the fixture sent over HTTP (protobuf; JSON with gzip) and gRPC, each once despite a retry', async () => {
      const run = randomUUID().slice(0, 8);
      const proto = `proto-${run}`;
      const json = `json-${run}`;
      const grpc = `grpc-${run}`;
      for (let i = 0; i < 2; i++) {
        // the second round is the client's retry: deduplicated
        const r = await fetch(`${running.ingest.url}/v1development/profiles`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-protobuf', 'x-scope-orgid': proto },
          body: FIXTURE,
        });
        assert.equal(r.status, 200, await r.text());
        const j = await fetch(`${running.ingest.url}/v1development/profiles`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-encoding': 'gzip',
            'x-scope-orgid': json,
          },
          body: gzipSync(fixtureJson()),
        });
        assert.equal(j.status, 200, await j.text());
        assert.ok(running.ingest.grpcAddress);
        await grpcExport(running.ingest.grpcAddress, grpc);
      }
      const golden = GOLDEN.samples.reduce((n, s) => n + Number(s.values), 0);
      assert.equal(want[CPU], golden, 'the decoder gives the golden total');
      assert.ok(want[OFF_CPU] > 0);
      for (const tenant of [proto, json, grpc]) assert.deepEqual(await storedOnce(tenant), want);
    });
  });
}
