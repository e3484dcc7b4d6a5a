import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { fromBinary } from '@bufbuild/protobuf';
import { isProtocolError, type ProtocolError } from '../errors.js';
import { ExportTraceServiceRequestSchema } from './gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js';
import { decodeOtlpRequest, otlpEncodingOf, type OtlpRequestInput } from './otlp-request.js';
import { encodeRpcStatusBinary, rpcCodeForStatus } from './rpc-status.js';
import { traceRequestBytes, traceRequestJson, type TestSpan } from './testing.js';
import { flattenSpans, assembleTraces } from './trace-model.js';

const T = '5b8efff798038103d269b633813fc60c';
const spans: TestSpan[] = [
  {
    traceId: T,
    spanId: 'eee19b7ec3c1b174',
    name: 'GET /cart',
    startMs: 1_764_680_000_000,
    durationMs: 250,
    attributes: { 'http.status_code': 200 },
  },
  {
    traceId: T,
    spanId: 'eee19b7ec3c1b175',
    parentSpanId: 'eee19b7ec3c1b174',
    name: 'SELECT',
    startMs: 1_764_680_000_010,
    durationMs: 40,
    kind: 3,
    status: 2,
  },
];

const input = (over: Partial<OtlpRequestInput>): OtlpRequestInput => ({
  signal: 'traces',
  contentType: 'application/x-protobuf',
  contentEncoding: '',
  body: traceRequestBytes('shop', spans),
  maxBytes: 1 << 20,
  ...over,
});

function failure(f: () => unknown): ProtocolError {
  try {
    f();
  } catch (err) {
    assert.ok(isProtocolError(err), `not a ProtocolError: ${String(err)}`);
    return err;
  }
  assert.fail('expected a ProtocolError');
}

describe('OTLP/HTTP request decoding', () => {
  it('reads a binary protobuf request and keeps its bytes as the canonical form', () => {
    const body = traceRequestBytes('shop', spans);
    const d = decodeOtlpRequest(input({ body }));
    assert.equal(d.encoding, 'protobuf');
    assert.deepEqual(Buffer.from(d.canonical), Buffer.from(body));
    const flat = flattenSpans(fromBinary(ExportTraceServiceRequestSchema, d.canonical));
    assert.deepEqual(
      flat.map((s) => [s.traceId, s.spanId, s.parentSpanId, s.service, s.name]),
      [
        [T, 'eee19b7ec3c1b174', '', 'shop', 'GET /cart'],
        [T, 'eee19b7ec3c1b175', 'eee19b7ec3c1b174', 'shop', 'SELECT'],
      ],
    );
    assert.equal(flat[0].spanAttributes['http.status_code'], 200);
    assert.equal(flat[1].statusCode, 2);
    assert.equal(flat[1].endUnixNano - flat[1].startUnixNano, 40_000_000n);
  });

  it('reads OTLP/JSON with hex ids (any case) into the same request as the protobuf form', () => {
    const d = decodeOtlpRequest(
      input({
        contentType: 'application/json; charset=utf-8',
        body: Buffer.from(traceRequestJson('shop', spans)),
      }),
    );
    assert.equal(d.encoding, 'json');
    const a = flattenSpans(fromBinary(ExportTraceServiceRequestSchema, d.canonical));
    const b = flattenSpans(
      fromBinary(ExportTraceServiceRequestSchema, traceRequestBytes('shop', spans)),
    );
    assert.deepEqual(
      a.map((s) => [s.traceId, s.spanId, s.parentSpanId, s.startUnixNano, s.kind]),
      b.map((s) => [s.traceId, s.spanId, s.parentSpanId, s.startUnixNano, s.kind]),
    );
  });

  it('ignores unknown JSON fields, as the OTLP spec asks of receivers', () => {
    const doc = JSON.parse(traceRequestJson('shop', spans));
    doc.somethingNew = { x: 1 };
    doc.resourceSpans[0].scopeSpans[0].spans[0].futureField = 'y';
    const d = decodeOtlpRequest(
      input({ contentType: 'application/json', body: Buffer.from(JSON.stringify(doc)) }),
    );
    assert.equal(flattenSpans(fromBinary(ExportTraceServiceRequestSchema, d.canonical)).length, 2);
  });

  it('inflates a gzip body', () => {
    const body = gzipSync(traceRequestBytes('shop', spans));
    const d = decodeOtlpRequest(input({ body, contentEncoding: 'gzip' }));
    assert.equal(flattenSpans(fromBinary(ExportTraceServiceRequestSchema, d.canonical)).length, 2);
  });

  it('names the unknown_service fallback when the resource has no service.name', () => {
    const req = fromBinary(ExportTraceServiceRequestSchema, traceRequestBytes('', spans));
    assert.deepEqual(
      flattenSpans(req).map((s) => s.service),
      ['unknown_service', 'unknown_service'],
    );
  });

  it('answers a content type OTLP/HTTP does not define with 415', () => {
    const e = failure(() => decodeOtlpRequest(input({ contentType: 'text/plain' })));
    assert.equal(e.status, 415);
    assert.match(e.message, /application\/x-protobuf or application\/json/);
    assert.equal(failure(() => decodeOtlpRequest(input({ contentType: '' }))).status, 415);
  });

  it('answers an unknown Content-Encoding with 415', () => {
    assert.equal(failure(() => decodeOtlpRequest(input({ contentEncoding: 'br' }))).status, 415);
  });

  it('answers a body over the limit with 413, and a gzip bomb stops at the limit with 413', () => {
    assert.equal(failure(() => decodeOtlpRequest(input({ maxBytes: 10 }))).status, 413);
    const bomb = gzipSync(Buffer.alloc(8 << 20));
    const e = failure(() =>
      decodeOtlpRequest(input({ body: bomb, contentEncoding: 'gzip', maxBytes: 1 << 20 })),
    );
    assert.equal(e.status, 413);
    assert.match(e.message, /inflates past 1048576 bytes/);
  });

  it('answers a truncated protobuf with 400', () => {
    const body = traceRequestBytes('shop', spans);
    const e = failure(() => decodeOtlpRequest(input({ body: body.subarray(0, body.length - 7) })));
    assert.equal(e.status, 400);
    assert.equal(e.reason, 'malformed_otlp');
  });

  it('answers bad JSON, non-hex ids and ids of the wrong length with 400', () => {
    const json = (s: string) => input({ contentType: 'application/json', body: Buffer.from(s) });
    assert.equal(failure(() => decodeOtlpRequest(json('{"resourceSpans":'))).status, 400);
    assert.equal(failure(() => decodeOtlpRequest(json('['.repeat(20_000)))).status, 400);
    const bad = traceRequestJson('shop', [{ ...spans[0], spanId: 'zz19b7ec3c1b174z' }]);
    assert.match(failure(() => decodeOtlpRequest(json(bad))).message, /spanId must be a hex/);
    const short = traceRequestJson('shop', [{ ...spans[0], traceId: 'abcd' }]);
    assert.match(failure(() => decodeOtlpRequest(json(short))).message, /trace id of 2 bytes/);
  });

  it('maps statuses to google.rpc codes and encodes a Status', () => {
    assert.equal(rpcCodeForStatus(400), 3);
    assert.equal(rpcCodeForStatus(429), 8);
    assert.equal(rpcCodeForStatus(503), 14);
    assert.deepEqual(
      Buffer.from(encodeRpcStatusBinary(3, 'x')),
      Buffer.from([0x08, 0x03, 0x12, 0x01, 0x78]),
    );
    assert.equal(otlpEncodingOf('Application/X-Protobuf'), 'protobuf');
  });

  it('reassembles stored spans into one ResourceSpans per resource and scope', () => {
    const req = fromBinary(ExportTraceServiceRequestSchema, traceRequestBytes('shop', spans));
    const data = assembleTraces(flattenSpans(req));
    assert.equal(data.resourceSpans.length, 1);
    assert.equal(data.resourceSpans[0].scopeSpans.length, 1);
    assert.deepEqual(
      data.resourceSpans[0].scopeSpans[0].spans.map((s) => s.name),
      ['GET /cart', 'SELECT'],
    );
  });
});

// Whatever the bytes and headers, the decoder returns a request or throws a ProtocolError with
// one of the OTLP/HTTP statuses; nothing else escapes.
describe('OTLP trace decoder fuzz', () => {
  const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
  const valid = traceRequestBytes('shop', spans);
  const validJson = Buffer.from(traceRequestJson('shop', spans));

  const check = (i: OtlpRequestInput): void => {
    try {
      const d = decodeOtlpRequest(i);
      flattenSpans(fromBinary(ExportTraceServiceRequestSchema, d.canonical));
    } catch (err) {
      if (!isProtocolError(err))
        throw new Error(`non-ProtocolError escaped: ${String(err)}`, { cause: err });
      assert.ok([400, 413, 415].includes(err.status), `status ${err.status}`);
    }
  };

  const mutate = (base: Uint8Array) =>
    fc
      .array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 })
      .chain((edits) =>
        fc.nat({ max: base.length }).map((cut) => {
          const b = Buffer.from(base);
          for (const [at, v] of edits) b[at % b.length] = v;
          return b.subarray(0, cut);
        }),
      );

  it('random bytes as protobuf, JSON and gzip', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 2048 }),
        fc.constantFrom('application/x-protobuf', 'application/json', 'text/plain'),
        fc.constantFrom('', 'gzip', 'deflate'),
        (body, contentType, contentEncoding) =>
          check(input({ body, contentType, contentEncoding })),
      ),
      { numRuns: RUNS, seed: 16 },
    );
  });

  it('mutations of a valid protobuf request (plain and gzipped)', () => {
    fc.assert(
      fc.property(mutate(valid), fc.boolean(), (body, gz) =>
        check(input({ body: gz ? gzipSync(body) : body, contentEncoding: gz ? 'gzip' : '' })),
      ),
      { numRuns: RUNS, seed: 17 },
    );
  });

  it('mutations of a valid OTLP/JSON request', () => {
    fc.assert(
      fc.property(mutate(validJson), (body) =>
        check(input({ body, contentType: 'application/json' })),
      ),
      { numRuns: RUNS, seed: 18 },
    );
  });
});
