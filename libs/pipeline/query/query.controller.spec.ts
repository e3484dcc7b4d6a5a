import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodePprof } from '../../model/pprof/index.js';
import { CPU, cpuSeries, post, startReadApp, type ReadApp } from './testing.js';
import { ProtoWriter } from '../../protocol/index.js';
import { decodeProto, type MessageSpec } from './proto-wire.js';
import { gzipSync } from 'node:zlib';
import type { EmbeddedStore } from '../../backends/index.js';
import { loadConfig } from '../../runtime/config.js';
import { TenantResolver } from '../tenancy/tenant-resolver.js';
import { QueryController } from './query.controller.js';
import type { QueryAnswer, QueryExecutor, QueryTask } from './query-executor.js';

const T0 = Date.now() - 30 * 60_000;
const win = { start: String(T0 - 60_000), end: String(T0 + 3600_000) };

interface FG {
  names: string[];
  levels: { values: string[] }[];
  total: string;
  maxSelf: string;
}

function selfByName(fg: FG): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of fg.levels)
    for (let i = 0; i < l.values.length; i += 4) {
      const name = fg.names[Number(l.values[i + 3])];
      out[name] = (out[name] ?? 0) + Number(l.values[i + 2]);
    }
  return out;
}

describe('query API (querier.v1 over the embedded store)', () => {
  let app: ReadApp;
  before(async () => {
    app = await startReadApp({
      secret: { credentials: [{ bearer: 's3cret' }], limits: {} },
    });
    await app.store.send([
      cpuSeries({
        labels: { service_name: 'api', env: 'prod', region: 'eu-west' },
        stacks: [
          [['main', 'handle', 'db'], 30, 'aaaa000000000001'],
          [['main', 'handle', 'json'], 10, 'aaaa000000000002'],
          [['main', 'idle'], 5],
        ],
        atMs: T0,
      }),
      cpuSeries({
        labels: { service_name: 'api', env: 'dev', region: 'us-east' },
        stacks: [[['main', 'handle', 'db'], 7]],
        atMs: T0 + 20_000,
      }),
      cpuSeries({
        labels: { service_name: 'worker', env: 'prod', region: 'eu-central' },
        stacks: [[['loop', 'crunch'], 100]],
        atMs: T0 + 40_000,
      }),
      cpuSeries({
        labels: { service_name: 'ancient' },
        stacks: [[['old'], 1]],
        atMs: Date.now() - 3 * 3600_000,
      }),
      cpuSeries({
        tenant: 'secret',
        labels: { service_name: 'hidden', env: 'prod' },
        stacks: [[['private', 'stuff'], 999]],
        atMs: T0,
      }),
    ]);
  });
  after(() => app.close());

  const total = async (labelSelector: string, headers: Record<string, string> = {}) => {
    const r = await post(
      app.url,
      'SelectMergeStacktraces',
      { profileTypeID: CPU, labelSelector, ...win },
      headers,
    );
    assert.equal(r.status, 200, JSON.stringify(r.json));
    return Number((r.json.flamegraph as FG).total);
  };

  it('selects with = != =~ !~ and __profile_type__', async () => {
    assert.equal(await total('{}'), 152);
    assert.equal(await total('{service_name="api"}'), 52);
    assert.equal(await total('{service_name="api", env!="dev"}'), 45);
    assert.equal(await total('{region=~"eu-.*"}'), 145);
    assert.equal(await total('{region!~"eu-.*"}'), 7);
    assert.equal(await total('{env=~"prod|dev", service_name!~"work.*"}'), 52);
    assert.equal(await total(`{__profile_type__="${CPU}"}`), 152);
    assert.equal(await total('{__profile_type__="memory:alloc_space:bytes:space:bytes"}'), 0);
    assert.equal(await total('{nonexistent=""}'), 152);
    const bad = await post(app.url, 'SelectMergeStacktraces', {
      profileTypeID: CPU,
      labelSelector: '{service_name=~"("}',
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.code, 'invalid_argument');
  });

  it('merges flame graphs with Pyroscope’s level encoding', async () => {
    const r = await post(app.url, 'SelectMergeStacktraces', {
      profileTypeID: CPU,
      labelSelector: '{service_name="api"}',
      ...win,
    });
    const fg = r.json.flamegraph as FG;
    assert.deepEqual(selfByName(fg), { total: 0, main: 0, handle: 0, idle: 5, db: 37, json: 10 });
    assert.equal(fg.maxSelf, '37');
  });

  it('keeps only samples of the selected spans (SelectMergeSpanProfile)', async () => {
    const r = await post(app.url, 'SelectMergeSpanProfile', {
      profileTypeID: CPU,
      labelSelector: '{service_name="api"}',
      spanSelector: ['aaaa000000000001'],
      ...win,
    });
    assert.equal(r.status, 200);
    const fg = r.json.flamegraph as FG;
    assert.equal(fg.total, '30');
    assert.deepEqual(selfByName(fg).db, 30);
    const none = await post(app.url, 'SelectMergeSpanProfile', {
      profileTypeID: CPU,
      labelSelector: '{}',
      spanSelector: [],
      ...win,
    });
    assert.equal((none.json.flamegraph as FG).total, '0');
    const both = await post(app.url, 'SelectMergeStacktraces', {
      profileTypeID: CPU,
      labelSelector: '{}',
      spanSelector: ['aaaa000000000001', 'aaaa000000000002'],
      ...win,
    });
    assert.equal((both.json.flamegraph as FG).total, '40');
  });

  it('keeps only stacks under a call site (stack_trace_selector)', async () => {
    const r = await post(app.url, 'SelectMergeStacktraces', {
      profileTypeID: CPU,
      labelSelector: '{service_name="api"}',
      stackTraceSelector: { callSite: [{ name: 'main' }, { name: 'handle' }] },
      ...win,
    });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal((r.json.flamegraph as FG).total, '47');
    const series = await post(app.url, 'SelectSeries', {
      profileTypeID: CPU,
      labelSelector: '{}',
      stackTraceSelector: { callSite: [{ name: 'loop' }] },
      ...win,
      step: 3600,
    });
    const points = (series.json.series as { points: { value: number }[] }[]).flatMap(
      (s) => s.points,
    );
    assert.deepEqual(
      points.map((p) => p.value),
      [100],
    );
  });

  it('diffs two selections in Pyroscope’s FlameGraphDiff shape', async () => {
    const r = await post(app.url, 'Diff', {
      left: { profileTypeID: CPU, labelSelector: '{env="prod", service_name="api"}', ...win },
      right: { profileTypeID: CPU, labelSelector: '{env="dev"}', ...win },
    });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const d = r.json.flamegraph as FG & { leftTicks: string; rightTicks: string };
    assert.equal(d.leftTicks, '45');
    assert.equal(d.rightTicks, '7');
    assert.equal(d.total, '52');
    // 7 values per node; level 0 = the root on both sides
    assert.deepEqual(d.levels[0].values, ['0', '45', '0', '0', '7', '0', '0']);
    const names = d.names;
    const nodes = d.levels.flatMap((l) => {
      const out: { name: string; left: number; right: number }[] = [];
      for (let i = 0; i < l.values.length; i += 7)
        out.push({
          name: names[Number(l.values[i + 6])],
          left: Number(l.values[i + 1]),
          right: Number(l.values[i + 4]),
        });
      return out;
    });
    assert.deepEqual(
      nodes.find((n) => n.name === 'db'),
      { name: 'db', left: 30, right: 7 },
    );
    assert.deepEqual(
      nodes.find((n) => n.name === 'idle'),
      { name: 'idle', left: 5, right: 0 },
    );
  });

  it('lists profile types, label names, label values and series label sets', async () => {
    const types = await post(app.url, 'ProfileTypes', win);
    assert.deepEqual(types.json.profileTypes, [
      {
        ID: CPU,
        name: 'process_cpu',
        sampleType: 'cpu',
        sampleUnit: 'nanoseconds',
        periodType: 'cpu',
        periodUnit: 'nanoseconds',
      },
    ]);
    const names = await post(app.url, 'LabelNames', { matchers: ['{service_name="api"}'], ...win });
    // Pyroscope's stored set (CreateProfileLabels): the derived __*__ labels, no __delta__
    assert.deepEqual(names.json.names, [
      '__name__',
      '__period_type__',
      '__period_unit__',
      '__profile_type__',
      '__service_name__',
      '__type__',
      '__unit__',
      'env',
      'region',
      'service_name',
    ]);
    const values = await post(app.url, 'LabelValues', { name: 'service_name', ...win });
    assert.deepEqual(values.json.names, ['api', 'worker']);
    const envs = await post(app.url, 'LabelValues', {
      name: 'env',
      matchers: ['{region=~"eu-.*"}'],
      ...win,
    });
    assert.deepEqual(envs.json.names, ['prod']);
    const series = await post(app.url, 'Series', {
      matchers: ['{service_name="worker"}'],
      labelNames: ['__profile_type__', '__name__', 'service_name'],
      ...win,
    });
    assert.deepEqual(series.json.labelsSet, [
      {
        labels: [
          { name: '__name__', value: 'process_cpu' },
          { name: '__profile_type__', value: CPU },
          { name: 'service_name', value: 'worker' },
        ],
      },
    ]);
  });

  it('lists everything retained when a listing names no time range', async () => {
    const all = await post(app.url, 'LabelValues', { name: 'service_name' });
    assert.deepEqual(all.json.names, ['ancient', 'api', 'worker']);
    const recent = await post(app.url, 'LabelValues', { name: 'service_name', ...win });
    assert.deepEqual(recent.json.names, ['api', 'worker']);
  });

  it('returns time series by step, summed or averaged, grouped by labels', async () => {
    const r = await post(app.url, 'SelectSeries', {
      profileTypeID: CPU,
      labelSelector: '{}',
      start: String(T0),
      end: String(T0 + 60_000),
      step: 30,
      groupBy: ['service_name'],
    });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.deepEqual(r.json.series, [
      {
        labels: [{ name: 'service_name', value: 'api' }],
        points: [{ value: 52, timestamp: String(T0) }],
      },
      {
        labels: [{ name: 'service_name', value: 'worker' }],
        points: [{ value: 100, timestamp: String(T0 + 30_000) }],
      },
    ]);
    const avg = await post(app.url, 'SelectSeries', {
      profileTypeID: CPU,
      labelSelector: '{service_name="api"}',
      start: String(T0),
      end: String(T0 + 60_000),
      step: 60,
      aggregation: 'TIME_SERIES_AGGREGATION_TYPE_AVERAGE',
    });
    assert.deepEqual((avg.json.series as { points: unknown[] }[])[0].points, [
      { value: 26, timestamp: String(T0) },
    ]);
    const top = await post(app.url, 'SelectSeries', {
      profileTypeID: CPU,
      labelSelector: '{}',
      ...win,
      step: 60,
      groupBy: ['service_name'],
      limit: '1',
    });
    assert.equal((top.json.series as unknown[]).length, 1);
  });

  it('returns a merged pprof, binary for application/proto and protojson for JSON', async () => {
    const body = new ProtoWriter()
      .string(1, CPU)
      .string(2, '{service_name="api"}')
      .int64(3, Number(win.start))
      .int64(4, Number(win.end))
      .finish();
    const r = await fetch(`${app.url}/querier.v1.QuerierService/SelectMergeProfile`, {
      method: 'POST',
      headers: { 'content-type': 'application/proto' },
      body,
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/proto');
    const p = decodePprof(new Uint8Array(await r.arrayBuffer()));
    const st = p.stringTable;
    assert.deepEqual(
      p.sampleType.map((t) => [st[t.type], st[t.unit]]),
      [['cpu', 'nanoseconds']],
    );
    assert.equal(
      p.sample.reduce((a, s) => a + Number(s.value[0]), 0),
      52,
    );
    assert.equal(Number(p.period), 10_000_000);
    const leafOf = (s: (typeof p.sample)[number]) => {
      const loc = p.location.find((l) => l.id === s.locationId[0])!;
      return st[p.function.find((f) => f.id === loc.line[0].functionId)!.name];
    };
    const db = p.sample.find((s) => leafOf(s) === 'db');
    assert.equal(Number(db?.value[0]), 37);
    const j = await post(app.url, 'SelectMergeProfile', {
      profileTypeID: CPU,
      labelSelector: '{service_name="api"}',
      ...win,
    });
    assert.equal(j.status, 200);
    assert.ok((j.json.stringTable as string[]).includes('db'));
    assert.equal(typeof (j.json.sample as { value: unknown[] }[])[0].value[0], 'string');
  });

  it('speaks binary proto as Grafana’s connect-go client does', async () => {
    const FlameGraph: MessageSpec = {
      1: { json: 'names', proto: 'names', type: 'string', repeated: true },
      2: {
        json: 'levels',
        proto: 'levels',
        type: {
          message: { 1: { json: 'values', proto: 'values', type: 'int64', repeated: true } },
        },
        repeated: true,
      },
      3: { json: 'total', proto: 'total', type: 'int64' },
      4: { json: 'maxSelf', proto: 'max_self', type: 'int64' },
    };
    const Response: MessageSpec = {
      1: { json: 'flamegraph', proto: 'flamegraph', type: { message: FlameGraph } },
    };
    const body = new ProtoWriter()
      .string(1, CPU)
      .string(2, '{service_name="worker"}')
      .int64(3, Number(win.start))
      .int64(4, Number(win.end))
      .int64(5, 16384)
      .finish();
    const r = await fetch(`${app.url}/querier.v1.QuerierService/SelectMergeStacktraces`, {
      method: 'POST',
      headers: { 'content-type': 'application/proto', 'connect-protocol-version': '1' },
      body,
    });
    assert.equal(r.status, 200);
    const fg = decodeProto(Response, new Uint8Array(await r.arrayBuffer())).flamegraph as {
      names: string[];
      levels: { values: number[] }[];
      total: number;
    };
    assert.equal(fg.total, 100);
    assert.deepEqual(fg.names, ['total', 'loop', 'crunch']);
    assert.deepEqual(fg.levels[2].values, [0, 100, 100, 2]);

    const LabelValues: MessageSpec = {
      1: { json: 'names', proto: 'names', type: 'string', repeated: true },
    };
    const lv = await fetch(`${app.url}/querier.v1.QuerierService/LabelValues`, {
      method: 'POST',
      headers: { 'content-type': 'application/proto' },
      body: new ProtoWriter()
        .string(1, 'service_name')
        .stringElem(2, '{}')
        .int64(3, Number(win.start))
        .int64(4, Number(win.end))
        .finish(),
    });
    assert.deepEqual(decodeProto(LabelValues, new Uint8Array(await lv.arrayBuffer())).names, [
      'api',
      'worker',
    ]);
    const unknown = await fetch(`${app.url}/querier.v1.QuerierService/NoSuchMethod`, {
      method: 'POST',
      headers: { 'content-type': 'application/proto' },
      body: new Uint8Array(0),
    });
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as { code: string }).code, 'unimplemented');
  });

  it('isolates tenants: another tenant’s series, labels and values are invisible', async () => {
    assert.equal(await total('{}'), 152); // anonymous does not see "secret"
    const creds = { 'x-scope-orgid': 'secret', authorization: 'Bearer s3cret' };
    assert.equal(await total('{}', creds), 999);
    const values = await post(app.url, 'LabelValues', { name: 'service_name', ...win }, creds);
    assert.deepEqual(values.json.names, ['hidden']);
    const anon = await post(app.url, 'LabelValues', { name: 'service_name', ...win });
    assert.ok(!(anon.json.names as string[]).includes('hidden'));
    const other = await post(
      app.url,
      'LabelValues',
      { name: 'service_name', ...win },
      {
        'x-scope-orgid': 'someone-else',
      },
    );
    assert.deepEqual(other.json.names, []);
    const noCreds = await post(app.url, 'LabelNames', win, { 'x-scope-orgid': 'secret' });
    assert.equal(noCreds.status, 401);
    const wrong = await post(
      app.url,
      'SelectMergeStacktraces',
      { profileTypeID: CPU, ...win },
      {
        'x-scope-orgid': 'secret',
        authorization: 'Bearer nope',
      },
    );
    assert.equal(wrong.status, 401);
    assert.equal(wrong.json.code, 'unauthenticated');
  });
});

// regression (adversarial probe): a malformed selector queued behind heavy queries waited out
// the query budget and was answered 503; it is answered 400 before it is queued
describe('query API: malformed requests are answered before they wait for a worker', () => {
  const answered: QueryTask[] = [];
  const executor = {
    run: async (task: QueryTask): Promise<QueryAnswer> => {
      answered.push(task);
      return { status: 200, contentType: 'application/json', body: Buffer.from('{}') };
    },
  } as unknown as QueryExecutor;
  const controller = new QueryController(
    {} as EmbeddedStore,
    new TenantResolver(loadConfig({})),
    executor,
  );
  async function call(
    method: string,
    body: Buffer,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: string }> {
    let status = 0;
    const reply = {
      status(s: number) {
        status = s;
        return reply;
      },
      headers: () => reply,
      header: () => reply,
    };
    const out = (await controller.call(
      method,
      { headers: { 'content-type': 'application/json', ...headers }, body } as never,
      reply as never,
    )) as Buffer;
    return { status, body: out.toString() };
  }
  const json = (o: unknown) => Buffer.from(JSON.stringify(o));

  it('a selector or profile type that does not parse is 400 at once, never queued', async () => {
    answered.length = 0;
    const bad = [
      ['SelectMergeStacktraces', { profileTypeID: CPU, labelSelector: '{service_name="x"' }],
      ['SelectMergeStacktraces', { profileTypeID: ':::::', labelSelector: '{}' }],
      ['LabelNames', { matchers: ['{a=~"("}'] }],
      ['SelectSeries', { profileTypeID: CPU, labelSelector: 'nope' }],
    ] as const;
    for (const [method, body] of bad) {
      const r = await call(method, json(body));
      assert.equal(r.status, 400, `${method} ${JSON.stringify(body)}: ${r.body}`);
      assert.equal(JSON.parse(r.body).code, 'invalid_argument');
    }
    const r = await call('SelectMergeStacktraces', Buffer.from('{"profileTypeID": '));
    assert.equal(r.status, 400, r.body);
    assert.equal(answered.length, 0, 'none reached the executor');
  });

  it('a well-formed query, and one whose body is compressed, go to the executor', async () => {
    answered.length = 0;
    const ok = await call(
      'SelectMergeStacktraces',
      json({ profileTypeID: CPU, labelSelector: '{service_name="api"}' }),
    );
    assert.equal(ok.status, 200);
    const gz = await call(
      'SelectMergeStacktraces',
      gzipSync(json({ profileTypeID: CPU, labelSelector: '{bad' })),
      { 'content-encoding': 'gzip' },
    );
    assert.equal(gz.status, 200, 'the worker answers it (the stub says 200)');
    assert.equal(answered.length, 2);
  });
});
