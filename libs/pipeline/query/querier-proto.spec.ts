import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import protobuf from 'protobufjs';
import { CPU, cpuSeries, startReadApp, type ReadApp } from './testing.js';

// The binary side of the query API against an independent proto implementation (protobufjs),
// with a reference schema written from Pyroscope's querier.v1 / types.v1 field numbers: requests
// encoded the way a connect-go client (Grafana's data source) encodes them, answers decoded the
// way it decodes them.

const SCHEMA = `
syntax = "proto3";
package q;
message LabelPair { string name = 1; string value = 2; }
message ProfileType { string ID = 1; string name = 2; string sample_type = 4; string sample_unit = 5; string period_type = 6; string period_unit = 7; }
message Labels { repeated LabelPair labels = 1; }
message Point { double value = 1; int64 timestamp = 2; }
message Series { repeated LabelPair labels = 1; repeated Point points = 2; }
message ProfileTypesRequest { int64 start = 1; int64 end = 2; }
message ProfileTypesResponse { repeated ProfileType profile_types = 1; }
message LabelNamesRequest { repeated string matchers = 1; int64 start = 2; int64 end = 3; }
message LabelValuesRequest { string name = 1; repeated string matchers = 2; int64 start = 3; int64 end = 4; }
message NamesResponse { repeated string names = 1; }
message SeriesRequest { repeated string matchers = 1; repeated string label_names = 2; int64 start = 3; int64 end = 4; }
message SeriesResponse { repeated Labels labels_set = 2; }
message SelectMergeStacktracesRequest { string profile_typeID = 1; string label_selector = 2; int64 start = 3; int64 end = 4; optional int64 max_nodes = 5; int32 format = 6; repeated string span_selector = 11; }
message Level { repeated int64 values = 1; }
message FlameGraph { repeated string names = 1; repeated Level levels = 2; int64 total = 3; int64 max_self = 4; }
message SelectMergeStacktracesResponse { FlameGraph flamegraph = 1; bytes tree = 2; }
message SelectMergeSpanProfileRequest { string profile_typeID = 1; string label_selector = 2; repeated string span_selector = 3; int64 start = 4; int64 end = 5; optional int64 max_nodes = 6; }
message SelectSeriesRequest { string profile_typeID = 1; string label_selector = 2; int64 start = 3; int64 end = 4; repeated string group_by = 5; double step = 6; optional int32 aggregation = 7; optional int64 limit = 9; int32 exemplar_type = 10; }
message SelectSeriesResponse { repeated Series series = 1; }
message DiffRequest { SelectMergeStacktracesRequest left = 1; SelectMergeStacktracesRequest right = 2; }
message FlameGraphDiff { repeated string names = 1; repeated Level levels = 2; int64 total = 3; int64 max_self = 4; int64 leftTicks = 5; int64 rightTicks = 6; }
message DiffResponse { FlameGraphDiff flamegraph = 1; }
message SelectHeatmapRequest { string profile_typeID = 1; string label_selector = 2; int64 start = 3; int64 end = 4; double step = 5; repeated string group_by = 6; int32 query_type = 7; int32 exemplar_type = 8; optional int64 limit = 9; }
message HeatmapSlot { int64 timestamp = 1; repeated double y_min = 2; repeated int32 counts = 3; }
message HeatmapSeries { repeated LabelPair labels = 1; repeated HeatmapSlot slots = 2; }
message SelectHeatmapResponse { repeated HeatmapSeries series = 1; }
`;

const root = protobuf.parse(SCHEMA, { keepCase: false }).root;
const T = (name: string) => root.lookupType(`q.${name}`);

const T0 = Date.now() - 600_000;
const START = T0 - 60_000;
const END = T0 + 600_000;

describe('query API binary proto against protobufjs', () => {
  let app: ReadApp;
  before(async () => {
    app = await startReadApp();
    await app.store.send([
      cpuSeries({
        labels: { service_name: 'svc', pod: 'p1' },
        stacks: [
          [['main', 'a'], 3, '5a1e000000000001'],
          [['main', 'b'], 4],
        ],
        atMs: T0,
      }),
      cpuSeries({
        labels: { service_name: 'svc', pod: 'p2' },
        stacks: [[['main', 'a'], 10]],
        atMs: T0 + 120_000,
      }),
    ]);
  });
  after(() => app.close());

  async function call(method: string, req: string, res: string, msg: Record<string, unknown>) {
    const body = T(req).encode(T(req).fromObject(msg)).finish();
    const r = await fetch(`${app.url}/querier.v1.QuerierService/${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/proto', 'connect-protocol-version': '1' },
      body,
    });
    assert.equal(r.status, 200, await r.clone().text());
    assert.equal(r.headers.get('content-type'), 'application/proto');
    return T(res).toObject(T(res).decode(new Uint8Array(await r.arrayBuffer())), {
      longs: Number,
      defaults: true,
    }) as Record<string, unknown>;
  }

  it('ProfileTypes, LabelNames, LabelValues, Series', async () => {
    const types = await call('ProfileTypes', 'ProfileTypesRequest', 'ProfileTypesResponse', {
      start: START,
      end: END,
    });
    assert.deepEqual(types.profileTypes, [
      {
        ID: CPU,
        name: 'process_cpu',
        sampleType: 'cpu',
        sampleUnit: 'nanoseconds',
        periodType: 'cpu',
        periodUnit: 'nanoseconds',
      },
    ]);
    const names = await call('LabelNames', 'LabelNamesRequest', 'NamesResponse', {
      matchers: ['{service_name="svc"}'],
      start: START,
      end: END,
    });
    // Pyroscope's stored set (CreateProfileLabels): the derived __*__ labels, no __delta__
    assert.deepEqual(names.names, [
      '__name__',
      '__period_type__',
      '__period_unit__',
      '__profile_type__',
      '__service_name__',
      '__type__',
      '__unit__',
      'pod',
      'service_name',
    ]);
    const values = await call('LabelValues', 'LabelValuesRequest', 'NamesResponse', {
      name: 'pod',
      matchers: ['{}'],
      start: START,
      end: END,
    });
    assert.deepEqual(values.names, ['p1', 'p2']);
    const series = await call('Series', 'SeriesRequest', 'SeriesResponse', {
      matchers: ['{pod="p2"}'],
      start: START,
      end: END,
    });
    assert.deepEqual(series.labelsSet, [
      {
        labels: [
          { name: '__name__', value: 'process_cpu' },
          { name: '__period_type__', value: 'cpu' },
          { name: '__period_unit__', value: 'nanoseconds' },
          { name: '__profile_type__', value: CPU },
          { name: '__service_name__', value: 'svc' },
          { name: '__type__', value: 'cpu' },
          { name: '__unit__', value: 'nanoseconds' },
          { name: 'pod', value: 'p2' },
          { name: 'service_name', value: 'svc' },
        ],
      },
    ]);
  });

  it('SelectMergeStacktraces and SelectMergeSpanProfile flame graphs', async () => {
    const r = await call(
      'SelectMergeStacktraces',
      'SelectMergeStacktracesRequest',
      'SelectMergeStacktracesResponse',
      {
        profileTypeID: CPU,
        labelSelector: '{service_name="svc"}',
        start: START,
        end: END,
        maxNodes: 1024,
      },
    );
    const fg = r.flamegraph as {
      names: string[];
      levels: { values: number[] }[];
      total: number;
      maxSelf: number;
    };
    assert.equal(fg.total, 17);
    assert.equal(fg.maxSelf, 13);
    assert.deepEqual(fg.names, ['total', 'main', 'a', 'b']);
    assert.deepEqual(fg.levels[2].values, [0, 13, 13, 2, 0, 4, 4, 3]);
    const span = await call(
      'SelectMergeSpanProfile',
      'SelectMergeSpanProfileRequest',
      'SelectMergeStacktracesResponse',
      {
        profileTypeID: CPU,
        labelSelector: '{}',
        spanSelector: ['5a1e000000000001'],
        start: START,
        end: END,
      },
    );
    assert.equal((span.flamegraph as { total: number }).total, 3);
  });

  it('SelectSeries with step, groupBy and limit (doubles and int64 timestamps)', async () => {
    const r = await call('SelectSeries', 'SelectSeriesRequest', 'SelectSeriesResponse', {
      profileTypeID: CPU,
      labelSelector: '{}',
      start: T0,
      end: T0 + 180_000,
      step: 60,
      groupBy: ['pod'],
      limit: 10,
    });
    assert.deepEqual(r.series, [
      { labels: [{ name: 'pod', value: 'p1' }], points: [{ value: 7, timestamp: T0 }] },
      { labels: [{ name: 'pod', value: 'p2' }], points: [{ value: 10, timestamp: T0 + 120_000 }] },
    ]);
  });

  it('Diff', async () => {
    const r = await call('Diff', 'DiffRequest', 'DiffResponse', {
      left: { profileTypeID: CPU, labelSelector: '{pod="p1"}', start: START, end: END },
      right: { profileTypeID: CPU, labelSelector: '{pod="p2"}', start: START, end: END },
    });
    const d = r.flamegraph as {
      leftTicks: number;
      rightTicks: number;
      total: number;
      levels: { values: number[] }[];
    };
    assert.equal(d.leftTicks, 7);
    assert.equal(d.rightTicks, 10);
    assert.equal(d.total, 17);
    assert.deepEqual(d.levels[0].values, [0, 7, 0, 0, 10, 0, 0]);
    assert.equal(d.levels[2].values.length, 14);
  });

  it('SelectHeatmap: individual profiles and spans in value buckets per step', async () => {
    const r = await call('SelectHeatmap', 'SelectHeatmapRequest', 'SelectHeatmapResponse', {
      profileTypeID: CPU,
      labelSelector: '{}',
      start: T0,
      end: T0 + 180_000,
      step: 60,
      queryType: 1,
    });
    // two profiles, 7 and 10: the lowest and the highest of 20 buckets over [7, 10]
    assert.deepEqual(r.series, [
      {
        labels: [],
        slots: [
          { timestamp: T0, yMin: [7], counts: [1] },
          { timestamp: T0 + 120_000, yMin: [7 + 19 * 0.15], counts: [1] },
        ],
      },
    ]);
    const spans = await call('SelectHeatmap', 'SelectHeatmapRequest', 'SelectHeatmapResponse', {
      profileTypeID: CPU,
      labelSelector: '{}',
      start: T0,
      end: T0 + 180_000,
      step: 60,
      queryType: 2,
    });
    assert.deepEqual(spans.series, [
      { labels: [], slots: [{ timestamp: T0, yMin: [3], counts: [1] }] },
    ]);
  });
});
