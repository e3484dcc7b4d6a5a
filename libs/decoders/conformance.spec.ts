// Conformance over the shared Pyroscope corpus (pprof/, legacy/, speedscope/, multipart/; JFR has
// its own suite): for every fixture, the series produced, their labels and profile type IDs are
// the ones the fixtures README states, and no value is lost or invented (totals per sample type
// equal the input's, computed independently with pprof-format for pprof inputs).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';

import { Profile as RefProfile } from 'pprof-format';

import { getLabel, profileTypeIds } from '../model/index.js';
import { encodePushRequest } from '../protocol/index.js';
import type { IngestParams, UploadFormat } from '../protocol/index.js';
import { fixturePath } from '../../test/support/paths.js';
import { isDecodeError } from './decode-error.js';
import type { DecodeErrorKind } from './decode-error.js';
import { defaultLimits } from './decoder.js';
import type { DecodedSeries, DecodeInput, FormPart } from './decoder.js';
import { decodeUpload } from './registry.js';
import { ingestParams } from './spec-fixtures.js';
import { total } from './spec-stacks.js';

const read = (...p: string[]): Uint8Array =>
  new Uint8Array(readFileSync(fixturePath('pyroscope', ...p)));

/** Independent reference: sample-type names and totals of a pprof, via pprof-format. */
function reference(bytes: Uint8Array): { types: string[]; totals: bigint[] } {
  const raw = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
  const p = RefProfile.decode(raw);
  const st = p.stringTable.strings;
  const totals = p.sampleType.map(() => 0n);
  for (const s of p.sample) s.value.forEach((v, i) => (totals[i] += BigInt(v)));
  return { types: p.sampleType.map((t) => st[Number(t.type)]), totals };
}

interface Case {
  title: string;
  format: UploadFormat;
  body: () => Uint8Array;
  name: string;
  params?: Partial<IngestParams>;
  parts?: () => FormPart[];
  contentType?: string;
  /** labels every produced series carries */
  labels: Record<string, string>;
  /** profile type IDs of every series (as a set) */
  types: string[];
  /** `types` lists only some of the series' types (the README states the ones upstream asserts) */
  typesSubset?: boolean;
  /** number of series; default 1; -1: split by sample labels into several */
  series?: number;
  /** expected totals per sample type; default: the reference totals of the pprof input */
  totals?: bigint[];
  /** the pprof bytes inside (forms), for the reference totals */
  pprof?: () => Uint8Array;
}

interface Reject {
  title: string;
  input: () => DecodeInput;
  kind: DecodeErrorKind;
  reason: string;
}

const file = (name: string, data: Uint8Array): FormPart => ({ name, filename: name, data });
const pprofForm = (pb: string, st?: string) => (): FormPart[] => [
  file('profile', read('pprof', pb)),
  ...(st ? [file('sample_type_config', read('pprof', st))] : []),
];

const CPU = [
  'process_cpu:samples:count:cpu:nanoseconds',
  'process_cpu:cpu:nanoseconds:cpu:nanoseconds',
];
const HEAP = [
  'memory:alloc_objects:count:space:bytes',
  'memory:alloc_space:bytes:space:bytes',
  'memory:inuse_objects:count:space:bytes',
  'memory:inuse_space:bytes:space:bytes',
];
const base = (metric: string, spy = 'foo239'): Record<string, string> => ({
  __name__: metric,
  __delta__: 'false',
  pyroscope_spy: spy,
  service_name: 'pprof.test',
  qwe: 'asd',
});
const PPROF_NAME = 'pprof.test{qwe=asd}';
const raw =
  (f: string): (() => Uint8Array) =>
  () =>
    read('pprof', f);

const pprofCases: Case[] = [
  {
    title: 'cpu.pb.gz',
    format: 'pprof',
    body: raw('cpu.pb.gz'),
    name: PPROF_NAME,
    params: { spyName: 'foo239' },
    labels: base('process_cpu'),
    types: CPU,
    totals: [47n, 470000000n],
  },
  {
    title: 'cpu-exemplars.pb.gz (split by foo/function, profile_id kept as span_id)',
    format: 'pprof',
    body: raw('cpu-exemplars.pb.gz'),
    name: PPROF_NAME,
    params: { spyName: 'foo239' },
    labels: base('process_cpu'),
    types: CPU,
    series: -1,
    totals: [873n, 8730000000n],
  },
  {
    title: 'heap.pb.gz',
    format: 'pprof',
    body: raw('heap.pb.gz'),
    name: PPROF_NAME,
    params: { spyName: 'foo239' },
    labels: base('memory'),
    types: HEAP,
  },
  {
    title: 'heap.pb',
    format: 'pprof',
    body: raw('heap.pb'),
    name: PPROF_NAME,
    params: { spyName: 'foo239' },
    labels: base('memory'),
    types: HEAP,
  },
  {
    title: 'heap',
    format: 'pprof',
    body: raw('heap'),
    name: PPROF_NAME,
    params: { spyName: 'foo239' },
    labels: base('memory'),
    types: HEAP,
  },
  {
    title: 'heap_delta',
    format: 'pprof',
    body: raw('heap_delta'),
    name: PPROF_NAME,
    params: { spyName: 'foo239' },
    labels: base('memory'),
    types: HEAP,
  },
  {
    title: 'req_2 (goroutines form; split by foo/function)',
    format: 'pprof-form',
    body: () => new Uint8Array(0),
    parts: pprofForm('req_2.pprof', 'req_2.st.json'),
    pprof: raw('req_2.pprof'),
    name: PPROF_NAME,
    params: { spyName: 'foo239' },
    labels: base('goroutines'),
    types: ['goroutines:goroutine:count:goroutine:count'],
    series: 3,
  },
  {
    title: 'req_3 (block form)',
    format: 'pprof-form',
    body: () => new Uint8Array(0),
    parts: pprofForm('req_3.pprof', 'req_3.st.json'),
    pprof: raw('req_3.pprof'),
    name: PPROF_NAME,
    params: { spyName: 'foo239' },
    labels: base('block'),
    types: [
      'block:contentions:count:contentions:count',
      'block:delay:nanoseconds:contentions:count',
    ],
  },
  {
    title: 'req_4 (mutex form)',
    format: 'pprof-form',
    body: () => new Uint8Array(0),
    parts: pprofForm('req_4.pprof', 'req_4.st.json'),
    pprof: raw('req_4.pprof'),
    name: PPROF_NAME,
    params: { spyName: 'foo239' },
    labels: base('mutex'),
    types: [
      'mutex:contentions:count:contentions:count',
      'mutex:delay:nanoseconds:contentions:count',
    ],
  },
  {
    title: 'req_5 (heap form)',
    format: 'pprof-form',
    body: () => new Uint8Array(0),
    parts: pprofForm('req_5.pprof', 'req_5.st.json'),
    pprof: raw('req_5.pprof'),
    name: PPROF_NAME,
    params: { spyName: 'foo239' },
    labels: base('memory'),
    types: ['memory:alloc_objects:count:space:bytes', 'memory:alloc_space:bytes:space:bytes'],
    typesSubset: true,
  },
  {
    title: 'cpu-js.pb.gz',
    format: 'pprof',
    body: raw('cpu-js.pb.gz'),
    name: PPROF_NAME,
    params: { spyName: 'foo239' },
    labels: base('wall'),
    types: ['wall:sample:count:wall:microseconds', 'wall:wall:microseconds:wall:microseconds'],
  },
  {
    title: 'nodejs-wall.pb.gz',
    format: 'pprof',
    body: raw('nodejs-wall.pb.gz'),
    name: PPROF_NAME,
    params: { spyName: 'foo239' },
    labels: base('wall'),
    types: ['wall:samples:count:wall:microseconds', 'wall:wall:microseconds:wall:microseconds'],
  },
  {
    title: 'nodejs-heap.pb.gz',
    format: 'pprof',
    body: raw('nodejs-heap.pb.gz'),
    name: PPROF_NAME,
    params: { spyName: 'foo239' },
    labels: base('memory'),
    types: [
      'memory:inuse_space:bytes:inuse_space:bytes',
      'memory:inuse_objects:count:inuse_space:bytes',
    ],
  },
  {
    title: 'heap-js.pprof',
    format: 'pprof',
    body: raw('heap-js.pprof'),
    name: PPROF_NAME,
    params: { spyName: 'foo239' },
    labels: base('memory'),
    types: ['memory:space:bytes:space:bytes', 'memory:objects:count:space:bytes'],
  },
  {
    title: 'pyspy-1.pb.gz (scripting spy; split by function)',
    format: 'pprof',
    body: raw('pyspy-1.pb.gz'),
    name: PPROF_NAME,
    params: { spyName: 'scripting' },
    labels: base('process_cpu', 'scripting'),
    types: ['process_cpu:samples:count::milliseconds'],
    series: 2,
  },
  {
    title: 'dotnet-pprof-211 (form, dotnetspy)',
    format: 'pprof-form',
    body: () => new Uint8Array(0),
    parts: pprofForm('dotnet-pprof-211.pb.gz', 'dotnet-pprof-211.st.json'),
    pprof: raw('dotnet-pprof-211.pb.gz'),
    name: PPROF_NAME,
    params: { spyName: 'dotnetspy' },
    labels: base('process_cpu', 'dotnetspy'),
    types: [
      'process_cpu:cpu:nanoseconds::nanoseconds',
      'process_cpu:exception:count::nanoseconds',
      'process_cpu:alloc_samples:count::nanoseconds',
      'process_cpu:alloc_size:bytes::nanoseconds',
      'process_cpu:lock_count:count::nanoseconds',
      'process_cpu:lock_time:nanoseconds::nanoseconds',
    ],
  },
  {
    title: 'dotnet-pprof-3 (broken ids and dashes, fixed for dotnetspy)',
    format: 'pprof-form',
    body: () => new Uint8Array(0),
    parts: pprofForm('dotnet-pprof-3.pb.gz', 'dotnet-pprof-3.st.json'),
    pprof: raw('dotnet-pprof-3.pb.gz'),
    name: PPROF_NAME,
    params: { spyName: 'dotnetspy' },
    labels: base('process_cpu', 'dotnetspy'),
    types: [
      'process_cpu:cpu:nanoseconds::nanoseconds',
      'process_cpu:exception:count::nanoseconds',
      'process_cpu:alloc_samples:count::nanoseconds',
      'process_cpu:alloc_size:bytes::nanoseconds',
      'process_cpu:lock_count:count::nanoseconds',
      'process_cpu:lock_time:nanoseconds::nanoseconds',
    ],
  },
  {
    title: 'dotnet.labels.pprof (one group: pod/qweqwe become series labels)',
    format: 'pprof',
    body: raw('dotnet.labels.pprof'),
    name: PPROF_NAME,
    params: { spyName: 'dotnetspy' },
    labels: { ...base('process_cpu', 'dotnetspy'), pod: '4242239', qweqwe: 'asd' },
    types: [
      'process_cpu:cpu:nanoseconds:cpu:nanoseconds',
      'process_cpu:exception:count:cpu:nanoseconds',
      'process_cpu:alloc_samples:count:cpu:nanoseconds',
      'process_cpu:alloc_size:bytes:cpu:nanoseconds',
      'process_cpu:lock_count:count:cpu:nanoseconds',
      'process_cpu:lock_time:nanoseconds:cpu:nanoseconds',
    ],
  },
  {
    title: 'profile_java',
    format: 'pprof',
    body: raw('profile_java'),
    name: PPROF_NAME,
    params: { spyName: 'foo239' },
    labels: base('process_cpu'),
    types: ['process_cpu:cpu:nanoseconds:cpu:nanoseconds'],
  },
  {
    title: 'profile_nodejs',
    format: 'pprof',
    body: raw('profile_nodejs'),
    name: PPROF_NAME,
    params: { spyName: 'foo239' },
    labels: base('wall'),
    types: [],
  },
  {
    title: 'profile_python',
    format: 'pprof',
    body: raw('profile_python'),
    name: PPROF_NAME,
    params: { spyName: 'foo239' },
    labels: base('process_cpu'),
    types: ['process_cpu:samples:count::milliseconds'],
  },
  {
    title: 'profile_ruby',
    format: 'pprof',
    body: raw('profile_ruby'),
    name: PPROF_NAME,
    params: { spyName: 'foo239' },
    labels: base('process_cpu'),
    types: ['process_cpu:samples:count::milliseconds'],
  },
  {
    title: 'profile_rust',
    format: 'pprof',
    body: raw('profile_rust'),
    name: PPROF_NAME,
    params: { spyName: 'foo239' },
    labels: base('process_cpu'),
    types: [],
  },
  {
    title: 'single_group_with_optional_span_id.pb.gz',
    format: 'pprof',
    body: raw('single_group_with_optional_span_id.pb.gz'),
    name: PPROF_NAME,
    params: { spyName: 'foo239' },
    labels: { ...base('process_cpu'), function: 'slow', asdasd: 'zxczxc' },
    types: CPU,
  },
];

const legacy =
  (f: string): (() => Uint8Array) =>
  () =>
    read('legacy', f);
const legacyLabels = (metric: string, app = 'app'): Record<string, string> => ({
  __name__: metric,
  __delta__: 'false',
  pyroscope_spy: 'unknown',
  service_name: app,
});
const CPU_NS = ['process_cpu:cpu:nanoseconds:cpu:nanoseconds'];
const legacyCases: Case[] = [
  {
    title: 'groups-testvector.txt',
    format: 'groups',
    body: legacy('groups-testvector.txt'),
    name: 'app',
    labels: legacyLabels('process_cpu'),
    types: CPU_NS,
    totals: [30n * 10000000n],
  },
  {
    title: 'lines-testvector.txt',
    format: 'lines',
    body: legacy('lines-testvector.txt'),
    name: 'app',
    labels: legacyLabels('process_cpu'),
    types: CPU_NS,
    totals: [2n * 10000000n],
  },
  {
    title: 'tree-nodict-testvector.bin',
    format: 'tree',
    body: legacy('tree-nodict-testvector.bin'),
    name: 'app',
    labels: legacyLabels('process_cpu'),
    types: CPU_NS,
    totals: [3n * 10000000n],
  },
  {
    title: 'trie-testvector.bin',
    format: 'trie',
    body: legacy('trie-testvector.bin'),
    name: 'app',
    labels: legacyLabels('process_cpu'),
    types: CPU_NS,
    totals: [3n * 10000000n],
  },
  {
    title: 'dump1-cpu.folded.txt',
    format: 'groups',
    body: legacy('dump1-cpu.folded.txt'),
    name: 'app.cpu',
    labels: legacyLabels('process_cpu'),
    types: CPU_NS,
    totals: [21880000000n],
  },
  {
    title: 'dump1-cpu.tree.bin',
    format: 'tree',
    body: legacy('dump1-cpu.tree.bin'),
    name: 'app.cpu',
    labels: legacyLabels('process_cpu'),
    types: CPU_NS,
    totals: [21880000000n],
  },
  {
    title: 'dump1-cpu.trie.bin',
    format: 'trie',
    body: legacy('dump1-cpu.trie.bin'),
    name: 'app.cpu',
    labels: legacyLabels('process_cpu'),
    types: CPU_NS,
    totals: [21880000000n],
  },
];

const ss =
  (f: string): (() => Uint8Array) =>
  () =>
    read('speedscope', f);
const speedscopeCases: Case[] = [
  {
    title: 'simple.speedscope.json',
    format: 'speedscope',
    body: ss('simple.speedscope.json'),
    name: 'foo',
    labels: { ...legacyLabels('process_cpu', 'foo'), profile_name: 'simple.txt' },
    types: CPU_NS,
    totals: [1400n * 100000n],
  },
  {
    title: 'two-sampled.speedscope.json',
    format: 'speedscope',
    body: ss('two-sampled.speedscope.json'),
    name: 'foo{x=y}',
    labels: { ...legacyLabels('wall', 'foo'), x: 'y' },
    types: ['wall:wall:nanoseconds:cpu:nanoseconds'],
    series: 2,
    totals: [2n * 1400n * 10000000n],
  },
  {
    title: 'two-sampled-bytes.speedscope.json',
    format: 'speedscope',
    body: ss('two-sampled-bytes.speedscope.json'),
    name: 'foo{x=y}',
    labels: { ...legacyLabels('memory', 'foo'), x: 'y' },
    types: ['memory:samples:bytes::'],
    series: 2,
    totals: [2n * 14n],
  },
  {
    title: 'duplicates.speedscope.json',
    format: 'speedscope',
    body: ss('duplicates.speedscope.json'),
    name: 'foo{x=y}',
    labels: { ...legacyLabels('process_cpu', 'foo'), x: 'y', profile_name: 'one' },
    types: CPU_NS,
    totals: [4200n * 10000000n],
  },
];

const GO_MUTEX_CT =
  'multipart/form-data; boundary=5f0e3a8c1d2b4a697788990011223344556677889900aabbccddeeff0011';
const multipartCases: Case[] = [
  {
    title: 'go-mutex.multipart.bin',
    format: 'pprof-form',
    body: () => read('multipart', 'go-mutex.multipart.bin'),
    contentType: GO_MUTEX_CT,
    pprof: raw('req_4.pprof'),
    name: 'myapp{__session_id__=3e8c7a0f1d2b4c5a,otel.scope.name=com.grafana.pyroscope/godeltaprof}',
    params: {
      spyName: 'gospy',
      sampleRate: 0,
      fromNanos: '1694142280000000000',
      untilNanos: '1694142290000000000',
    },
    labels: {
      __name__: 'mutex',
      __delta__: 'false',
      pyroscope_spy: 'gospy',
      service_name: 'myapp',
      'otel.scope.name': 'com.grafana.pyroscope/godeltaprof',
    },
    types: [
      'mutex:contentions:count:contentions:count',
      'mutex:delay:nanoseconds:contentions:count',
    ],
  },
];

function inputOf(c: Case): DecodeInput {
  const input: DecodeInput = {
    format: c.format,
    body: c.body(),
    params: ingestParams(c.name, c.params),
    contentType: c.contentType ?? '',
    nowNanos: 1700000005000000000n,
  };
  if (c.parts) input.parts = c.parts();
  return input;
}

function typesOf(s: DecodedSeries): string[] {
  return profileTypeIds(getLabel(s.labels, '__name__') ?? '', s.profile);
}

function check(c: Case, series: DecodedSeries[]): void {
  if (c.series === -1)
    assert.ok(series.length > 1, `${c.title}: expected a split, got ${series.length}`);
  else assert.equal(series.length, c.series ?? 1, `${c.title}: series count`);
  for (const s of series) {
    for (const [k, v] of Object.entries(c.labels)) {
      assert.equal(getLabel(s.labels, k), v, `${c.title}: label ${k}`);
    }
    const names = s.labels.map((l) => l.name);
    assert.deepEqual(names, [...names].sort(), `${c.title}: labels sorted`);
    assert.equal(new Set(names).size, names.length, `${c.title}: label names unique`);
    assert.equal(getLabel(s.labels, '__session_id__'), undefined);
    if (c.typesSubset) {
      for (const t of c.types) assert.ok(typesOf(s).includes(t), `${c.title}: type ${t}`);
    } else if (c.types.length > 0) {
      assert.deepEqual(new Set(typesOf(s)), new Set(c.types), `${c.title}: types`);
    }
  }
  const expected = c.totals ?? reference((c.pprof ?? c.body)()).totals;
  const got = expected.map((_, i) => series.reduce((acc, s) => acc + total(s.profile, i), 0n));
  assert.deepEqual(got, expected, `${c.title}: totals`);
}

describe('conformance: pprof/', () => {
  for (const c of pprofCases) {
    it(c.title, () => check(c, decodeUpload(inputOf(c))));
  }

  for (const c of pprofCases) {
    it(`${c.title} via Push with __name__ set`, () => {
      const metric = c.labels.__name__;
      const bytes = (c.pprof ?? c.body)();
      const input: DecodeInput = {
        format: 'push',
        body: new Uint8Array(0),
        push: [
          {
            labels: [
              { name: '__name__', value: metric },
              { name: 'service_name', value: 'pprof.test' },
            ],
            samples: [{ rawProfile: bytes, id: 'id-1' }],
          },
        ],
        params: ingestParams('x'),
        contentType: 'application/proto',
        nowNanos: 1700000005000000000n,
      };
      if (c.title.startsWith('dotnet-pprof-3')) {
        assert.throws(
          () => decodeUpload(input),
          (e) =>
            isDecodeError(e) && e.kind === 'invalid_profile' && e.message === 'function id is 0',
        );
        return;
      }
      const series = decodeUpload(input);
      check({ ...c, labels: { __name__: metric, service_name: 'pprof.test' } }, series);
      for (const s of series) assert.equal(s.id, 'id-1');
    });
  }

  it('pyspy-1.pb.gz: the 1970 time is replaced by from', () => {
    const series = decodeUpload(inputOf(pprofCases.find((c) => c.title.startsWith('pyspy'))!));
    for (const s of series) assert.equal(BigInt(s.profile.timeNanos), 1700000000000000000n);
  });

  it('cpu-exemplars.pb.gz: span_id stays on samples, never a series label', () => {
    const series = decodeUpload(inputOf(pprofCases[1]));
    let spans = 0;
    for (const s of series) {
      assert.equal(getLabel(s.labels, 'span_id'), undefined);
      assert.equal(getLabel(s.labels, 'profile_id'), undefined);
      const span = s.profile.stringTable.indexOf('span_id');
      for (const smp of s.profile.sample) spans += smp.label.filter((l) => l.key === span).length;
    }
    assert.ok(spans > 0);
  });

  it('a binary Push body decodes like the decoded request', () => {
    const body = encodePushRequest({
      series: [
        {
          labels: [
            { name: '__name__', value: 'godeltaprof_memory' },
            { name: 'service_name', value: 'svc' },
          ],
          samples: [{ rawProfile: read('pprof', 'heap_delta'), id: '' }],
          annotations: [],
        },
      ],
    });
    const [s] = decodeUpload({
      format: 'push',
      body,
      params: ingestParams('x'),
      contentType: 'application/proto',
    });
    assert.equal(getLabel(s.labels, '__name__'), 'memory');
    assert.equal(getLabel(s.labels, '__delta__'), 'false');
    assert.deepEqual(new Set(typesOf(s)), new Set(HEAP));
  });
});

describe('conformance: legacy/', () => {
  for (const c of legacyCases) it(c.title, () => check(c, decodeUpload(inputOf(c))));
});

describe('conformance: speedscope/', () => {
  for (const c of speedscopeCases) it(c.title, () => check(c, decodeUpload(inputOf(c))));
});

describe('conformance: multipart/', () => {
  for (const c of multipartCases) it(c.title, () => check(c, decodeUpload(inputOf(c))));
});

const rejects: Reject[] = [
  {
    title: 'invalid_utf8.pb.gz on /ingest',
    input: () => ({
      format: 'pprof',
      body: read('pprof', 'invalid_utf8.pb.gz'),
      params: ingestParams('app'),
      contentType: '',
    }),
    kind: 'invalid_utf8',
    reason: 'malformed_profile',
  },
  {
    title: 'invalid_utf8.pb.gz via Push',
    input: () => ({
      format: 'push',
      body: new Uint8Array(0),
      push: [
        {
          labels: [{ name: '__name__', value: 'process_cpu' }],
          samples: [{ rawProfile: read('pprof', 'invalid_utf8.pb.gz'), id: '' }],
        },
      ],
      params: ingestParams('app'),
      contentType: 'application/proto',
    }),
    kind: 'invalid_utf8',
    reason: 'malformed_profile',
  },
  {
    title: 'cpu.pb.gz with itself as prev_profile',
    input: () => ({
      format: 'pprof-form',
      body: new Uint8Array(0),
      parts: [
        file('profile', read('pprof', 'cpu.pb.gz')),
        file('prev_profile', read('pprof', 'cpu.pb.gz')),
      ],
      params: ingestParams('app'),
      contentType: '',
    }),
    kind: 'unsupported_client',
    reason: 'malformed_profile',
  },
  {
    title: 'a multipart body sent with format=pprof',
    input: () => ({
      format: 'pprof',
      body: read('multipart', 'go-mutex.multipart.bin'),
      params: ingestParams('app'),
      contentType: GO_MUTEX_CT,
    }),
    kind: 'malformed',
    reason: 'malformed_profile',
  },
  {
    title: 'heap.pb over a 64 KiB decompressed limit',
    input: () => ({
      format: 'pprof',
      body: read('pprof', 'heap.pb.gz'),
      params: ingestParams('app'),
      contentType: '',
    }),
    kind: 'too_large',
    reason: 'profile_size_limit',
  },
];

describe('conformance: rejections', () => {
  for (const r of rejects) {
    it(r.title, () => {
      const limits = r.title.includes('64 KiB') ? { maxDecompressedBytes: 65536 } : {};
      assert.throws(
        () => decodeUpload(r.input(), { ...defaultLimits, ...limits }),
        (e) => isDecodeError(e) && e.kind === r.kind && e.reason === r.reason && e.permanent,
      );
    });
  }
});
