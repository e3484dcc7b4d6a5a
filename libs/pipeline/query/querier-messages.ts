import type { Profile } from '../../model/index.js';
import type { SeriesLabel } from '../../queue/index.js';
import type {
  FlamegraphDiff,
  HeatmapSeries,
  TimeSeries,
  Flamegraph,
} from '../../backends/index.js';
import { ProtoWriter } from '../../protocol/index.js';
import type { FieldSpec, MessageSpec } from './proto-wire.js';

// Our own definitions of the querier.v1 / types.v1 messages Grafana's Pyroscope data source and
// Pyroscope's CLI exchange (field numbers from Pyroscope's api/querier/v1/querier.proto and
// api/types/v1/types.proto, Apache-2.0): request field tables for proto-wire, and response
// writers in both encodings (binary proto; protojson with int64 as strings).

const s = (json: string, proto: string, repeated = false): FieldSpec => ({
  json,
  proto,
  type: 'string',
  repeated,
});
const i64 = (json: string, proto: string): FieldSpec => ({ json, proto, type: 'int64' });

export const PROFILE_FORMAT = [
  'PROFILE_FORMAT_UNSPECIFIED',
  'PROFILE_FORMAT_FLAMEGRAPH',
  'PROFILE_FORMAT_TREE',
  'PROFILE_FORMAT_DOT',
  'PROFILE_FORMAT_PPROF',
] as const;
export const AGGREGATION = [
  'TIME_SERIES_AGGREGATION_TYPE_SUM',
  'TIME_SERIES_AGGREGATION_TYPE_AVERAGE',
] as const;
const EXEMPLAR_TYPE = [
  'EXEMPLAR_TYPE_UNSPECIFIED',
  'EXEMPLAR_TYPE_NONE',
  'EXEMPLAR_TYPE_INDIVIDUAL',
  'EXEMPLAR_TYPE_SPAN',
];

const StackTraceSelector: MessageSpec = {
  1: {
    json: 'callSite',
    proto: 'call_site',
    type: { message: { 1: s('name', 'name') } },
    repeated: true,
  },
  2: {
    json: 'goPgo',
    proto: 'go_pgo',
    type: { message: { 1: { json: 'keepLocations', proto: 'keep_locations', type: 'uint32' } } },
  },
};

export const ProfileTypesRequest: MessageSpec = { 1: i64('start', 'start'), 2: i64('end', 'end') };
export const LabelNamesRequest: MessageSpec = {
  1: s('matchers', 'matchers', true),
  2: i64('start', 'start'),
  3: i64('end', 'end'),
};
export const LabelValuesRequest: MessageSpec = {
  1: s('name', 'name'),
  2: s('matchers', 'matchers', true),
  3: i64('start', 'start'),
  4: i64('end', 'end'),
};
export const SeriesRequest: MessageSpec = {
  1: s('matchers', 'matchers', true),
  2: s('labelNames', 'label_names', true),
  3: i64('start', 'start'),
  4: i64('end', 'end'),
};
export const SelectMergeStacktracesRequest: MessageSpec = {
  1: s('profileTypeID', 'profile_typeID'),
  2: s('labelSelector', 'label_selector'),
  3: i64('start', 'start'),
  4: i64('end', 'end'),
  5: i64('maxNodes', 'max_nodes'),
  6: { json: 'format', proto: 'format', type: { enum: PROFILE_FORMAT } },
  7: {
    json: 'stackTraceSelector',
    proto: 'stack_trace_selector',
    type: { message: StackTraceSelector },
  },
  8: s('profileIdSelector', 'profile_id_selector', true),
  10: s('traceIdSelector', 'trace_id_selector', true),
  11: s('spanSelector', 'span_selector', true),
};
export const SelectMergeSpanProfileRequest: MessageSpec = {
  1: s('profileTypeID', 'profile_typeID'),
  2: s('labelSelector', 'label_selector'),
  3: s('spanSelector', 'span_selector', true),
  4: i64('start', 'start'),
  5: i64('end', 'end'),
  6: i64('maxNodes', 'max_nodes'),
  7: { json: 'format', proto: 'format', type: { enum: PROFILE_FORMAT } },
};
export const SelectMergeProfileRequest: MessageSpec = {
  1: s('profileTypeID', 'profile_typeID'),
  2: s('labelSelector', 'label_selector'),
  3: i64('start', 'start'),
  4: i64('end', 'end'),
  5: i64('maxNodes', 'max_nodes'),
  6: {
    json: 'stackTraceSelector',
    proto: 'stack_trace_selector',
    type: { message: StackTraceSelector },
  },
  7: s('profileIdSelector', 'profile_id_selector', true),
  8: s('traceIdSelector', 'trace_id_selector', true),
};
export const SelectSeriesRequest: MessageSpec = {
  1: s('profileTypeID', 'profile_typeID'),
  2: s('labelSelector', 'label_selector'),
  3: i64('start', 'start'),
  4: i64('end', 'end'),
  5: s('groupBy', 'group_by', true),
  6: { json: 'step', proto: 'step', type: 'double' },
  7: { json: 'aggregation', proto: 'aggregation', type: { enum: AGGREGATION } },
  8: {
    json: 'stackTraceSelector',
    proto: 'stack_trace_selector',
    type: { message: StackTraceSelector },
  },
  9: i64('limit', 'limit'),
  10: { json: 'exemplarType', proto: 'exemplar_type', type: { enum: EXEMPLAR_TYPE } },
};
export const HEATMAP_QUERY_TYPE = [
  'HEATMAP_QUERY_TYPE_UNSPECIFIED',
  'HEATMAP_QUERY_TYPE_INDIVIDUAL',
  'HEATMAP_QUERY_TYPE_SPAN',
] as const;
export const SelectHeatmapRequest: MessageSpec = {
  1: s('profileTypeID', 'profile_typeID'),
  2: s('labelSelector', 'label_selector'),
  3: i64('start', 'start'),
  4: i64('end', 'end'),
  5: { json: 'step', proto: 'step', type: 'double' },
  6: s('groupBy', 'group_by', true),
  7: { json: 'queryType', proto: 'query_type', type: { enum: HEATMAP_QUERY_TYPE } },
  8: { json: 'exemplarType', proto: 'exemplar_type', type: { enum: EXEMPLAR_TYPE } },
  9: i64('limit', 'limit'),
};
export const DiffRequest: MessageSpec = {
  1: { json: 'left', proto: 'left', type: { message: SelectMergeStacktracesRequest } },
  2: { json: 'right', proto: 'right', type: { message: SelectMergeStacktracesRequest } },
};
export const GetProfileStatsRequest: MessageSpec = {};

/** A response in both encodings. */
export interface Answer {
  proto(): Uint8Array;
  json(): unknown;
}

export interface ProfileTypeInfo {
  ID: string;
  name: string;
  sampleType: string;
  sampleUnit: string;
  periodType: string;
  periodUnit: string;
}

export function profileTypesResponse(types: ProfileTypeInfo[]): Answer {
  return {
    proto: () => {
      const w = new ProtoWriter();
      for (const t of types)
        w.message(1, (m) =>
          m
            .string(1, t.ID)
            .string(2, t.name)
            .string(4, t.sampleType)
            .string(5, t.sampleUnit)
            .string(6, t.periodType)
            .string(7, t.periodUnit),
        );
      return w.finish();
    },
    json: () => ({ profileTypes: types }),
  };
}

export function namesResponse(names: string[]): Answer {
  return {
    proto: () => {
      const w = new ProtoWriter();
      for (const n of names) w.stringElem(1, n);
      return w.finish();
    },
    json: () => ({ names }),
  };
}

function writeLabelPair(m: ProtoWriter, l: SeriesLabel): void {
  m.string(1, l.name).string(2, l.value);
}

export function seriesResponse(sets: SeriesLabel[][]): Answer {
  return {
    proto: () => {
      const w = new ProtoWriter();
      for (const set of sets)
        w.message(2, (m) => {
          for (const l of set) m.message(1, (p) => writeLabelPair(p, l));
        });
      return w.finish();
    },
    json: () => ({ labelsSet: sets.map((labels) => ({ labels })) }),
  };
}

function writeFlamegraph(w: ProtoWriter, fg: Flamegraph): void {
  for (const n of fg.names) w.stringElem(1, n);
  for (const level of fg.levels) w.message(2, (m) => m.packedInt64(1, level));
  w.int64(3, fg.total).int64(4, fg.maxSelf);
}

function flamegraphJson(fg: Flamegraph): unknown {
  return {
    names: fg.names,
    levels: fg.levels.map((values) => ({ values: values.map(String) })),
    total: String(fg.total),
    maxSelf: String(fg.maxSelf),
  };
}

/** SelectMergeStacktracesResponse and SelectMergeSpanProfileResponse (flamegraph = 1). */
export function flamegraphResponse(fg: Flamegraph): Answer {
  return {
    proto: () => {
      const w = new ProtoWriter();
      w.message(1, (m) => writeFlamegraph(m, fg));
      return w.finish();
    },
    json: () => ({ flamegraph: flamegraphJson(fg) }),
  };
}

export function diffResponse(d: FlamegraphDiff): Answer {
  return {
    proto: () => {
      const w = new ProtoWriter();
      w.message(1, (m) => {
        for (const n of d.names) m.stringElem(1, n);
        for (const level of d.levels) m.message(2, (l) => l.packedInt64(1, level));
        m.int64(3, d.total).int64(4, d.maxSelf).int64(5, d.leftTicks).int64(6, d.rightTicks);
      });
      return w.finish();
    },
    json: () => ({
      flamegraph: {
        names: d.names,
        levels: d.levels.map((values) => ({ values: values.map(String) })),
        total: String(d.total),
        maxSelf: String(d.maxSelf),
        leftTicks: String(d.leftTicks),
        rightTicks: String(d.rightTicks),
      },
    }),
  };
}

export function selectSeriesResponse(series: TimeSeries[]): Answer {
  return {
    proto: () => {
      const w = new ProtoWriter();
      for (const s of series)
        w.message(1, (m) => {
          for (const l of s.labels) m.message(1, (p) => writeLabelPair(p, l));
          for (const pt of s.points)
            m.message(2, (p) => p.double(1, pt.value).int64(2, pt.timestamp));
        });
      return w.finish();
    },
    json: () => ({
      series: series.map((s) => ({
        labels: s.labels,
        points: s.points.map((p) => ({ value: p.value, timestamp: String(p.timestamp) })),
      })),
    }),
  };
}

/** SelectHeatmapResponse { repeated types.v1.HeatmapSeries series = 1 } */
export function heatmapResponse(series: HeatmapSeries[]): Answer {
  return {
    proto: () => {
      const w = new ProtoWriter();
      for (const s of series)
        w.message(1, (m) => {
          for (const l of s.labels) m.message(1, (p) => writeLabelPair(p, l));
          for (const slot of s.slots)
            m.message(2, (p) =>
              p.int64(1, slot.timestamp).packedDouble(2, slot.yMin).packedInt64(3, slot.counts),
            );
        });
      return w.finish();
    },
    json: () => ({
      series: series.map((s) => ({
        labels: s.labels,
        slots: s.slots.map((slot) => ({
          timestamp: String(slot.timestamp),
          yMin: slot.yMin,
          counts: slot.counts,
        })),
      })),
    }),
  };
}

export function profileStatsResponse(range: { oldestMs: number; newestMs: number } | null): Answer {
  return {
    proto: () => {
      const w = new ProtoWriter();
      if (range) w.bool(1, true).int64(2, range.oldestMs).int64(3, range.newestMs);
      return w.finish();
    },
    json: () =>
      range
        ? {
            dataIngested: true,
            oldestProfileTime: String(range.oldestMs),
            newestProfileTime: String(range.newestMs),
          }
        : { dataIngested: false, oldestProfileTime: '0', newestProfileTime: '0' },
  };
}

/**
 * google.v1.Profile (SelectMergeProfile): binary is the pprof encoding itself; JSON is
 * protojson of the same message (int64 as strings, camelCase names, defaults omitted).
 */
export function pprofResponse(p: Profile, encode: (p: Profile) => Uint8Array): Answer {
  const i = (v: number | bigint): string => String(v);
  const vt = (t: { type: number; unit: number }) => ({ type: i(t.type), unit: i(t.unit) });
  return {
    proto: () => encode(p),
    json: () => ({
      sampleType: p.sampleType.map(vt),
      sample: p.sample.map((s) => ({
        locationId: s.locationId.map(i),
        value: s.value.map(i),
        ...(s.label.length > 0
          ? {
              label: s.label.map((l) => ({
                key: i(l.key),
                str: i(l.str),
                num: i(l.num),
                numUnit: i(l.numUnit),
              })),
            }
          : {}),
      })),
      mapping: p.mapping.map((m) => ({
        id: i(m.id),
        memoryStart: i(m.memoryStart),
        memoryLimit: i(m.memoryLimit),
        fileOffset: i(m.fileOffset),
        filename: i(m.filename),
        buildId: i(m.buildId),
        hasFunctions: m.hasFunctions,
        hasFilenames: m.hasFilenames,
        hasLineNumbers: m.hasLineNumbers,
        hasInlineFrames: m.hasInlineFrames,
      })),
      location: p.location.map((l) => ({
        id: i(l.id),
        ...(l.mappingId ? { mappingId: i(l.mappingId) } : {}),
        ...(l.address ? { address: i(l.address) } : {}),
        line: l.line.map((ln) => ({
          functionId: i(ln.functionId),
          ...(ln.line ? { line: i(ln.line) } : {}),
        })),
      })),
      function: p.function.map((f) => ({
        id: i(f.id),
        name: i(f.name),
        systemName: i(f.systemName),
        filename: i(f.filename),
        ...(f.startLine ? { startLine: i(f.startLine) } : {}),
      })),
      stringTable: p.stringTable,
      timeNanos: i(p.timeNanos),
      durationNanos: i(p.durationNanos),
      ...(p.periodType ? { periodType: vt(p.periodType) } : {}),
      period: i(p.period),
    }),
  };
}
