import { create, toBinary, toJsonString } from '@bufbuild/protobuf';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fixturePath } from '../../../test/support/paths.js';
import type { Profile } from '../../model/index.js';
import { ExportProfilesServiceRequestSchema } from '../../protocol/index.js';
import { isDecodeError } from '../decode-error.js';
import type { DecodedSeries } from '../decoder.js';
import { decodeUpload } from '../registry.js';

// OTLP profiles as Pyroscope converts them: the eBPF profiler fixture gives Pyroscope's profile
// types and its golden (PY pkg/test/integration/ingest_otlp_test.go), and small requests pin
// each conversion rule.

const FIXTURE = fixturePath('pyroscope/otlp/otel-ebpf-profile.pb.bin');
const GOLDEN = fixturePath('pyroscope/otlp/otel-ebpf-profile-cpu.out.json');

function decode(body: Uint8Array, contentType = 'application/x-protobuf'): DecodedSeries[] {
  return decodeUpload({
    format: 'otlp',
    body,
    contentType,
    params: {} as never,
    nowNanos: 1_700_000_000_000_000_000n,
  });
}

const label = (s: DecodedSeries, name: string): string | undefined =>
  s.labels.find((l) => l.name === name)?.value;

/** Pyroscope's profile type id of a series: __name__:type:unit:periodType:periodUnit */
function profileTypeId(s: DecodedSeries): string {
  const p = s.profile;
  const st = p.sampleType[0];
  const pt = p.periodType;
  return [
    label(s, '__name__'),
    p.stringTable[st.type],
    p.stringTable[st.unit],
    pt ? p.stringTable[pt.type] : '',
    pt ? p.stringTable[pt.unit] : '',
  ].join(':');
}

/** strprofile's compact location form: `0x<addr>`, lines `name[system]@file:line`, mapping. */
function stackKey(p: Profile, locationIds: number[]): string {
  const s = (i: number): string => p.stringTable[i];
  return JSON.stringify(
    locationIds.map((id) => {
      const loc = p.location.find((l) => l.id === id)!;
      const m = p.mapping.find((x) => x.id === loc.mappingId);
      return {
        address: `0x${BigInt(loc.address).toString(16)}`,
        lines: loc.line.map((ln) => {
          const f = p.function.find((x) => x.id === ln.functionId)!;
          return `${s(f.name)}[${s(f.systemName)}]@${s(f.filename)}:${ln.line}`;
        }),
        mapping: m
          ? `0x${BigInt(m.memoryStart).toString(16)}-0x${BigInt(m.memoryLimit).toString(16)}@0x${BigInt(m.fileOffset).toString(16)} ${s(m.filename)}(${s(m.buildId)})`
          : undefined,
      };
    }),
  );
}

describe('OTLP profiles decoder: the eBPF profiler fixture', () => {
  const series = decode(readFileSync(FIXTURE));

  it('gives process_cpu and off_cpu for unknown_service, as Pyroscope does', () => {
    const types = new Set(
      series.filter((s) => label(s, 'service_name') === 'unknown_service').map(profileTypeId),
    );
    assert.deepEqual([...types].sort(), [
      'off_cpu:off_cpu:nanoseconds::',
      'process_cpu:cpu:nanoseconds:cpu:nanoseconds',
    ]);
    for (const s of series) {
      assert.match(label(s, 'service_name')!, /^unknown_service(:.+)?$/);
      assert.equal(label(s, '__otel__'), 'true');
      assert.equal(label(s, '__delta__'), 'false');
    }
  });

  it('matches the golden process_cpu profile of unknown_service (stacks and values)', () => {
    const golden = JSON.parse(readFileSync(GOLDEN, 'utf8')) as {
      sample_types: { type: string; unit: string }[];
      period: string;
      samples: { locations: unknown[]; values: string }[];
    };
    const want = new Map<string, bigint>();
    for (const g of golden.samples) {
      const k = JSON.stringify(g.locations);
      want.set(k, (want.get(k) ?? 0n) + BigInt(g.values));
    }
    const got = new Map<string, bigint>();
    const cpu = series.filter(
      (s) =>
        label(s, 'service_name') === 'unknown_service' &&
        profileTypeId(s) === 'process_cpu:cpu:nanoseconds:cpu:nanoseconds',
    );
    assert.ok(cpu.length > 0);
    for (const s of cpu) {
      const p = s.profile;
      assert.deepEqual(
        p.sampleType.map((t) => ({ type: p.stringTable[t.type], unit: p.stringTable[t.unit] })),
        golden.sample_types,
      );
      // golden.period (1e9) is what Pyroscope's query answers; the profile's own is 50 ms
      assert.equal(String(p.period), '50000000');
      for (const smp of p.sample) {
        const k = stackKey(p, smp.locationId);
        got.set(k, (got.get(k) ?? 0n) + BigInt(smp.value[0]));
      }
    }
    assert.deepEqual(
      [...got].sort((a, b) => a[0].localeCompare(b[0])),
      [...want].sort((a, b) => a[0].localeCompare(b[0])),
    );
  });
});

/** A request with one CPU profile of two samples; `tweak` edits it before encoding. */
function request(tweak: (r: ReturnType<typeof baseRequest>) => void = () => {}) {
  const r = baseRequest();
  tweak(r);
  return r;
}

function baseRequest() {
  const strings = [
    '',
    'samples',
    'count',
    'cpu',
    'nanoseconds',
    'main',
    'work',
    'app.go',
    'service.name',
    'checkout',
    'thread.name',
    'worker-1',
    '/bin/app',
    'host.name',
    'box',
  ];
  const si = (s: string): number => strings.indexOf(s);
  return create(ExportProfilesServiceRequestSchema, {
    dictionary: {
      stringTable: strings,
      mappingTable: [
        {},
        { memoryStart: 0x1000n, memoryLimit: 0x2000n, filenameStrindex: si('/bin/app') },
      ],
      functionTable: [
        {},
        {
          nameStrindex: si('main'),
          systemNameStrindex: si('main'),
          filenameStrindex: si('app.go'),
        },
        {
          nameStrindex: si('work'),
          systemNameStrindex: si('work'),
          filenameStrindex: si('app.go'),
        },
      ],
      locationTable: [
        {},
        { mappingIndex: 1, address: 0x1100n, lines: [{ functionIndex: 1, line: 10n }] },
        { mappingIndex: 1, address: 0x1200n, lines: [{ functionIndex: 2, line: 20n }] },
      ],
      stackTable: [{}, { locationIndices: [2, 1] }, { locationIndices: [1] }],
      linkTable: [
        {},
        {
          traceId: Uint8Array.from(Buffer.from('0af7651916cd43dd8448eb211c80319c', 'hex')),
          spanId: Uint8Array.from(Buffer.from('b7ad6b7169203331', 'hex')),
        },
      ],
      attributeTable: [
        {},
        {
          keyStrindex: si('service.name'),
          value: { value: { case: 'stringValue', value: 'checkout' } },
        },
        {
          keyStrindex: si('thread.name'),
          value: { value: { case: 'stringValue', value: 'worker-1' } },
        },
      ],
    },
    resourceProfiles: [
      {
        resource: {
          attributes: [
            { key: 'service.name', value: { value: { case: 'stringValue', value: 'shop' } } },
            { key: 'host.name', value: { value: { case: 'stringValue', value: 'box' } } },
          ],
        },
        scopeProfiles: [
          {
            scope: {
              attributes: [
                { key: 'host.name', value: { value: { case: 'stringValue', value: 'other' } } },
              ],
            },
            profiles: [
              {
                sampleType: { typeStrindex: si('samples'), unitStrindex: si('count') },
                periodType: { typeStrindex: si('cpu'), unitStrindex: si('nanoseconds') },
                period: 10_000_000n,
                timeUnixNano: 1_699_999_990_000_000_000n,
                durationNano: 10_000_000_000n,
                samples: [
                  { stackIndex: 1, values: [3n], attributeIndices: [2], linkIndex: 1 },
                  {
                    stackIndex: 2,
                    values: [],
                    timestampsUnixNano: [1n, 2n],
                    attributeIndices: [1],
                  },
                ],
              },
            ],
          },
        ],
      },
    ],
  });
}

describe('OTLP profiles decoder: conversion rules', () => {
  it('names the service from resource attributes, splits by the sample service.name, keeps the first attribute of a key', () => {
    const out = decode(toBinary(ExportProfilesServiceRequestSchema, request()));
    const byService = new Map(out.map((s) => [label(s, 'service_name'), s]));
    assert.deepEqual([...byService.keys()].sort(), ['checkout', 'shop']);
    const shop = byService.get('shop')!;
    assert.equal(profileTypeId(shop), 'process_cpu:cpu:nanoseconds:cpu:nanoseconds');
    assert.equal(label(shop, 'host.name'), 'box', 'the resource attribute wins over the scope one');
    assert.equal(label(shop, 'service.name'), 'shop');
  });

  it('turns sample counts into nanoseconds and timestamps into a count', () => {
    const out = decode(toBinary(ExportProfilesServiceRequestSchema, request()));
    const shop = out.find((s) => label(s, 'service_name') === 'shop')!;
    assert.equal(
      shop.profile.sample.reduce((n, s) => n + BigInt(s.value[0]), 0n),
      30_000_000n,
    );
    const checkout = out.find((s) => label(s, 'service_name') === 'checkout')!;
    assert.equal(BigInt(checkout.profile.sample[0].value[0]), 20_000_000n, '2 timestamps × period');
  });

  it('keeps span and trace ids of the sample link as span_id / trace_id labels', () => {
    const out = decode(toBinary(ExportProfilesServiceRequestSchema, request()));
    const shop = out.find((s) => label(s, 'service_name') === 'shop')!;
    const p = shop.profile;
    const labels = Object.fromEntries(
      p.sample[0].label.map((l) => [p.stringTable[l.key], p.stringTable[l.str]]),
    );
    assert.equal(labels.span_id, 'b7ad6b7169203331');
    assert.equal(labels.trace_id, '0af7651916cd43dd8448eb211c80319c');
    // a sample attribute is a sample label, which the distributor split turns into a series label
    assert.equal(label(shop, 'thread.name'), 'worker-1');
  });

  it('falls back to unknown_service, with the executable name when there is one', () => {
    const none = decode(
      toBinary(
        ExportProfilesServiceRequestSchema,
        request((r) => {
          r.resourceProfiles[0].resource!.attributes = [];
          r.resourceProfiles[0].scopeProfiles[0].profiles[0].samples[1].attributeIndices = [];
        }),
      ),
    );
    assert.deepEqual([...new Set(none.map((s) => label(s, 'service_name')))], ['unknown_service']);
    const exe = decode(
      toBinary(
        ExportProfilesServiceRequestSchema,
        request((r) => {
          const kv = r.resourceProfiles[0].resource!.attributes[1];
          kv.key = 'process.executable.name';
          kv.value = { ...kv.value!, value: { case: 'stringValue', value: 'java' } };
          r.resourceProfiles[0].resource!.attributes = [kv];
          r.resourceProfiles[0].scopeProfiles[0].profiles[0].samples[1].attributeIndices = [];
        }),
      ),
    );
    assert.deepEqual(
      [...new Set(exe.map((s) => label(s, 'service_name')))],
      ['unknown_service:java'],
    );
  });

  it('reads OTLP/JSON (hex ids) the same as protobuf', () => {
    const req = request();
    const json = JSON.parse(toJsonString(ExportProfilesServiceRequestSchema, req)) as {
      dictionary: { linkTable: { traceId?: string; spanId?: string }[] };
    };
    // the protobuf JSON mapping writes base64; OTLP/JSON sends hex
    for (const l of json.dictionary.linkTable) {
      if (l.traceId) l.traceId = Buffer.from(l.traceId, 'base64').toString('hex');
      if (l.spanId) l.spanId = Buffer.from(l.spanId, 'base64').toString('hex');
    }
    const fromJson = decode(Buffer.from(JSON.stringify(json)), 'application/json');
    const fromProto = decode(toBinary(ExportProfilesServiceRequestSchema, req));
    const view = (ss: DecodedSeries[]) =>
      ss.map((s) => ({
        labels: s.labels,
        stacks: s.profile.sample.map((x) => x.value.map(String)),
      }));
    assert.deepEqual(view(fromJson), view(fromProto));
  });

  it('answers a DecodeError for a missing dictionary, a bad stack index, a missing sample type, truncated bytes', () => {
    const bad = [
      toBinary(
        ExportProfilesServiceRequestSchema,
        request((r) => (r.dictionary = undefined)),
      ),
      toBinary(
        ExportProfilesServiceRequestSchema,
        request(
          (r) => (r.resourceProfiles[0].scopeProfiles[0].profiles[0].samples[0].stackIndex = 99),
        ),
      ),
      toBinary(
        ExportProfilesServiceRequestSchema,
        request((r) => (r.resourceProfiles[0].scopeProfiles[0].profiles[0].sampleType = undefined)),
      ),
      toBinary(ExportProfilesServiceRequestSchema, request()).subarray(0, 50),
    ];
    for (const b of bad) {
      assert.throws(
        () => decode(b),
        (e: unknown) => isDecodeError(e),
      );
    }
  });
});
