// Property tests of the OTLP profiles decoder (and the envelope ingest runs before it): whatever
// the bytes, the decoder returns series or throws DecodeError, and decodeExportProfilesRequest
// returns a request or throws ProtocolError; nothing else escapes (a TypeError from a bad index
// would be a 500 at ingest and a poison message for the decoder). Inputs: random bytes,
// mutations of the eBPF fixture (protobuf and OTLP/JSON), and well-formed requests whose
// indices, values and sample types are random.
import { create, fromBinary, toBinary, toJsonString } from '@bufbuild/protobuf';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fixturePath } from '../../../test/support/paths.js';
import {
  ExportProfilesServiceRequestSchema,
  decodeExportProfilesRequest,
  isProtocolError,
} from '../../protocol/index.js';
import { isDecodeError } from '../decode-error.js';
import { defaultLimits } from '../decoder.js';
import { otlpProfilesDecoder } from './otlp-profiles.decoder.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const FIXTURE = new Uint8Array(
  readFileSync(fixturePath('pyroscope/otlp/otel-ebpf-profile.pb.bin')),
);
const FIXTURE_JSON = toJsonString(
  ExportProfilesServiceRequestSchema,
  fromBinary(ExportProfilesServiceRequestSchema, FIXTURE),
);

/** Calls the decoder directly (the registry would wrap a stray exception and hide it). */
function decodeOnce(body: Uint8Array, contentType: string): void {
  try {
    const series = otlpProfilesDecoder.decode(
      { format: 'otlp', body, contentType, params: {} as never, nowNanos: 1n },
      defaultLimits,
    );
    for (const s of series) {
      assert.ok(s.labels.some((l) => l.name === 'service_name'));
      assert.ok(s.profile.sample.length > 0);
    }
  } catch (e) {
    if (!isDecodeError(e)) throw new Error(`non-DecodeError escaped: ${String(e)}`, { cause: e });
  }
  try {
    decodeExportProfilesRequest(
      body,
      { codec: contentType.includes('json') ? 'json' : 'proto', gzip: false },
      1 << 20,
    );
  } catch (e) {
    if (!isProtocolError(e))
      throw new Error(`non-ProtocolError escaped: ${String(e)}`, { cause: e });
  }
}

function mutated(seed: Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
      fc.option(fc.nat(), { nil: undefined }),
    )
    .map(([edits, cut]) => {
      let b = new Uint8Array(seed);
      for (const [pos, v] of edits) b[pos % b.length] = v;
      if (cut !== undefined) b = b.subarray(0, cut % b.length);
      return b;
    });
}

const idx = fc.integer({ min: -3, max: 12 });
const int64 = fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });
const uint64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });

/** A request whose every index and number is random: tables of 0-6 entries. */
const randomRequest = fc
  .record({
    strings: fc.array(
      fc.constantFrom('', 'samples', 'count', 'cpu', 'nanoseconds', 'off_cpu', 'service.name', 'x'),
      { maxLength: 8 },
    ),
    mappings: fc.array(
      fc.record({
        memoryStart: uint64,
        filenameStrindex: idx,
        attributeIndices: fc.array(idx, { maxLength: 2 }),
      }),
      { maxLength: 4 },
    ),
    functions: fc.array(
      fc.record({
        nameStrindex: idx,
        systemNameStrindex: idx,
        filenameStrindex: idx,
        startLine: int64,
      }),
      { maxLength: 4 },
    ),
    locations: fc.array(
      fc.record({
        mappingIndex: idx,
        address: uint64,
        lines: fc.array(fc.record({ functionIndex: idx, line: int64 }), { maxLength: 3 }),
      }),
      { maxLength: 6 },
    ),
    stacks: fc.array(fc.record({ locationIndices: fc.array(idx, { maxLength: 5 }) }), {
      maxLength: 4,
    }),
    links: fc.array(
      fc.record({
        traceId: fc.uint8Array({ maxLength: 17 }),
        spanId: fc.uint8Array({ maxLength: 9 }),
      }),
      { maxLength: 3 },
    ),
    attributes: fc.array(fc.record({ keyStrindex: idx, value: fc.string({ maxLength: 4 }) }), {
      maxLength: 4,
    }),
    sampleType: fc.option(fc.record({ typeStrindex: idx, unitStrindex: idx }), { nil: undefined }),
    periodType: fc.option(fc.record({ typeStrindex: idx, unitStrindex: idx }), { nil: undefined }),
    period: int64,
    samples: fc.array(
      fc.record({
        stackIndex: idx,
        values: fc.array(int64, { maxLength: 3 }),
        timestampsUnixNano: fc.array(uint64, { maxLength: 2 }),
        attributeIndices: fc.array(idx, { maxLength: 3 }),
        linkIndex: idx,
      }),
      { maxLength: 5 },
    ),
  })
  .map((r) =>
    toBinary(
      ExportProfilesServiceRequestSchema,
      create(ExportProfilesServiceRequestSchema, {
        dictionary: {
          stringTable: r.strings,
          mappingTable: r.mappings,
          functionTable: r.functions,
          locationTable: r.locations,
          stackTable: r.stacks,
          linkTable: r.links,
          attributeTable: r.attributes.map((a) => ({
            keyStrindex: a.keyStrindex,
            value: { value: { case: 'stringValue' as const, value: a.value } },
          })),
        },
        resourceProfiles: [
          {
            scopeProfiles: [
              {
                profiles: [
                  {
                    sampleType: r.sampleType,
                    periodType: r.periodType,
                    period: r.period,
                    samples: r.samples,
                  },
                ],
              },
            ],
          },
        ],
      }),
    ),
  );

describe('OTLP profiles decoder: fuzz', () => {
  it('random bytes, as protobuf and as JSON', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.boolean(), (b, json) =>
        decodeOnce(b, json ? 'application/json' : 'application/x-protobuf'),
      ),
      { numRuns: RUNS },
    );
  });

  it('mutations of the eBPF fixture (protobuf)', () => {
    fc.assert(
      fc.property(mutated(FIXTURE), (b) => decodeOnce(b, 'application/x-protobuf')),
      { numRuns: Math.min(RUNS, 100) },
    );
  });

  it('mutations of the eBPF fixture (OTLP/JSON)', () => {
    const seed = new TextEncoder().encode(FIXTURE_JSON);
    fc.assert(
      fc.property(mutated(seed), (b) => decodeOnce(b, 'application/json')),
      { numRuns: Math.min(RUNS, 60) },
    );
  });

  it('well-formed requests with random indices, values and types', () => {
    fc.assert(
      fc.property(randomRequest, (b) => decodeOnce(b, 'application/x-protobuf')),
      { numRuns: RUNS },
    );
  });
});
