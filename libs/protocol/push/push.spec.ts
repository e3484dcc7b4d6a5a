import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { isProtocolError, ProtocolError } from '../errors.js';
import {
  canonicalizeContentType,
  decodePushBody,
  negotiatePush,
  noProfilesReceivedError,
  pushBatchTooLargeError,
  pushProfileTooLargeError,
} from './connect-envelope.js';
import {
  connectCodeToHttpStatus,
  connectErrorResponse,
  httpStatusToConnectCode,
  ingestErrorResponse,
} from './connect-error.js';
import {
  PushJsonError,
  decodePushRequestJson,
  encodePushRequestJson,
  pushRequestToJson,
} from './push-json.js';
import { decodePushRequest, encodePushRequest } from './push-request.js';
import type { PushRequest } from './push-request.js';

// Reference schema for protobufjs, written from §2.1 (field numbers and JSON names).
const root = protobuf.Root.fromJSON({
  nested: {
    types: {
      nested: {
        v1: {
          nested: {
            LabelPair: {
              fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } },
            },
            ProfileAnnotation: {
              fields: { key: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } },
            },
          },
        },
      },
    },
    push: {
      nested: {
        v1: {
          nested: {
            PushRequest: {
              fields: { series: { rule: 'repeated', type: 'RawProfileSeries', id: 1 } },
            },
            RawProfileSeries: {
              fields: {
                labels: { rule: 'repeated', type: 'types.v1.LabelPair', id: 1 },
                samples: { rule: 'repeated', type: 'RawSample', id: 2 },
                annotations: { rule: 'repeated', type: 'types.v1.ProfileAnnotation', id: 3 },
              },
            },
            RawSample: {
              fields: { rawProfile: { type: 'bytes', id: 1 }, ID: { type: 'string', id: 2 } },
            },
          },
        },
      },
    },
  },
});
const PushRequestType = root.lookupType('push.v1.PushRequest');

const str = fc.string({ unit: 'grapheme', maxLength: 12 });
const pushRequest: fc.Arbitrary<PushRequest> = fc.record({
  series: fc.array(
    fc.record({
      labels: fc.array(fc.record({ name: str, value: str }), { maxLength: 5 }),
      samples: fc.array(fc.record({ rawProfile: fc.uint8Array({ maxLength: 64 }), id: str }), {
        maxLength: 3,
      }),
      annotations: fc.array(fc.record({ key: str, value: str }), { maxLength: 2 }),
    }),
    { maxLength: 4 },
  ),
});

function toPbjs(req: PushRequest) {
  return {
    series: req.series.map((s) => ({
      labels: s.labels,
      samples: s.samples.map((x) => ({ rawProfile: x.rawProfile, ID: x.id })),
      annotations: s.annotations,
    })),
  };
}

function normalize(req: PushRequest) {
  return {
    series: req.series.map((s) => ({
      labels: s.labels.map((l) => ({ ...l })),
      samples: s.samples.map((x) => ({
        rawProfile: Buffer.from(x.rawProfile).toString('hex'),
        id: x.id,
      })),
      annotations: s.annotations.map((a) => ({ ...a })),
    })),
  };
}

function fromPbjs(bytes: Uint8Array): PushRequest {
  const m = PushRequestType.toObject(PushRequestType.decode(bytes), {
    defaults: true,
    arrays: true,
  }) as {
    series: {
      labels: { name: string; value: string }[];
      samples: { rawProfile: Uint8Array; ID: string }[];
      annotations: { key: string; value: string }[];
    }[];
  };
  return {
    series: m.series.map((s) => ({
      labels: s.labels.map((l) => ({ name: l.name, value: l.value })),
      samples: s.samples.map((x) => ({ rawProfile: x.rawProfile, id: x.ID })),
      annotations: s.annotations.map((a) => ({ key: a.key, value: a.value })),
    })),
  };
}

describe('push codec against protobufjs', () => {
  it('our encoding is byte-identical to protobufjs and decodes back', () => {
    fc.assert(
      fc.property(pushRequest, (req) => {
        const ours = encodePushRequest(req);
        const theirs = PushRequestType.encode(PushRequestType.fromObject(toPbjs(req))).finish();
        assert.deepEqual(Buffer.from(ours), Buffer.from(theirs));
        assert.deepEqual(normalize(decodePushRequest(ours)), normalize(req));
        assert.deepEqual(normalize(fromPbjs(ours)), normalize(req));
      }),
      { numRuns: 300 },
    );
  });

  it('regression: skipping an unknown length-delimited field lost the length prefix advance (decodes protobufjs output with unknown fields of every wire type)', () => {
    const req: PushRequest = {
      series: [
        {
          labels: [
            { name: '__name__', value: 'process_cpu' },
            { name: 'service_name', value: 'app' },
          ],
          samples: [
            { rawProfile: Uint8Array.from([1, 2, 3]), id: '0b1e5b9c-3f5b-4a8e-9a55-2c51f2b8f0e1' },
          ],
          annotations: [],
        },
      ],
    };
    const bytes = PushRequestType.encode(PushRequestType.fromObject(toPbjs(req))).finish();
    // append unknown fields: 15 varint, 16 fixed64, 17 bytes, 18 fixed32, 19 group
    const w = protobuf.Writer.create();
    w.uint32((15 << 3) | 0).uint64(123);
    w.uint32((16 << 3) | 1).fixed64(9);
    w.uint32((17 << 3) | 2).bytes(Uint8Array.from([1, 2]));
    w.uint32((18 << 3) | 5).fixed32(7);
    w.uint32((19 << 3) | 3)
      .uint32((1 << 3) | 0)
      .uint32(5)
      .uint32((19 << 3) | 4);
    const withUnknown = Buffer.concat([Buffer.from(bytes), Buffer.from(w.finish())]);
    assert.deepEqual(normalize(decodePushRequest(withUnknown)), normalize(req));
  });

  it('malformed bytes fail with vtproto-like messages, never anything else', () => {
    const bad: [number[], string][] = [
      [[0x0a, 0x05, 0x01], 'unexpected EOF'],
      [[0x0a], 'unexpected EOF'],
      [[0x0a, 0x80], 'unexpected EOF'],
      [
        [0x0a, 0x05, 0x0a, 0x03, 0x0a, 0x01, 0xff],
        'proto: LabelPair: invalid UTF-8 in string field',
      ],
      [[0x0a, 0x03, 0x0a, 0x05, 0x00], 'unexpected EOF'],
      [[0x7a, 0x05, 0x00], 'unexpected EOF'],
      [[0x0c], 'proto: PushRequest: wiretype end group for non-group'],
      [[0x00], 'proto: PushRequest: illegal tag 0 (wire type 0)'],
      [[0x08, 0x01], 'proto: wrong wireType = 0 for field Series'],
      [[0x0a, 0x02, 0x10, 0x01], 'proto: wrong wireType = 0 for field Samples'],
      [
        [0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
        'proto: integer overflow',
      ],
    ];
    for (const [bytes, message] of bad) {
      assert.throws(
        () => decodePushRequest(Uint8Array.from(bytes)),
        { message },
        JSON.stringify(bytes),
      );
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        try {
          decodePushRequest(bytes);
        } catch (e) {
          assert.equal((e as Error).name, 'WireError');
        }
      }),
      { numRuns: 2000 },
    );
  });
  it('on mutated encodings both decoders accept, the results agree', () => {
    fc.assert(
      fc.property(pushRequest, fc.nat(), fc.integer({ min: 0, max: 255 }), (req, at, byte) => {
        const bytes = Buffer.from(encodePushRequest(req));
        if (bytes.length > 0) bytes[at % bytes.length] = byte;
        let ours: PushRequest;
        try {
          ours = decodePushRequest(bytes);
        } catch {
          return; // we reject; vtproto's checks are stricter than protobufjs's
        }
        let theirs: PushRequest;
        try {
          theirs = fromPbjs(bytes);
        } catch {
          // protobufjs is stricter in places vtproto is not (invalid UTF-8 outside labels, some
          // tag encodings); only decodes both accept must agree.
          return;
        }
        assert.deepEqual(normalize(ours), normalize(theirs));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('push codec: vtproto corner cases (checked against Pyroscope’s generated decoder)', () => {
  const dec = (hex: string) => () => decodePushRequest(Buffer.from(hex, 'hex'));
  it('regression: the field number is int32(key >> 3), and the message prints the whole key', () => {
    // key = 2^35 + 8*1 + 2: int32(key >> 3) = 1 → Series
    const key = Buffer.from([0x8a, 0x80, 0x80, 0x80, 0x80, 0x01]);
    const got = decodePushRequest(Buffer.concat([key, Buffer.from([0x00])]));
    assert.equal(got.series.length, 1);
    assert.throws(dec('c8f8b3f4f94d'), {
      message: 'proto: PushRequest: illegal tag -204365943 (wire type 2678424665160)',
    });
  });
  it('regression: huge lengths are Go ints (negative after wrapping)', () => {
    assert.throws(dec('0affffffffffffffffff01'), {
      message: 'proto: negative length found during unmarshaling',
    });
    assert.throws(dec('4290feb6cbf29ac98cb748b7'), { message: 'unexpected EOF' });
  });
  it('regression: wire types inside skipped groups come from the key’s low bits', () => {
    assert.throws(dec('cb1d97db9dfca582d8ae06f9219dc352d0e8d51e1cf0fcdc941a46'), {
      message: 'proto: illegal wireType 7',
    });
  });
  it('an invalid UTF-8 label is rejected only after the message decoded, and only if it is kept', () => {
    // label name f0 9f 0a 80 then overwritten by "a": valid in the end
    assert.deepEqual(
      decodePushRequest(Buffer.from('0a0b0a090a04f09f0a800a0161', 'hex')).series[0].labels,
      [{ name: 'a', value: '' }],
    );
    // a truncated message reports EOF, not the label
    assert.throws(dec('0a0b0a090a04f09f0a80'), { message: 'unexpected EOF' });
  });
});

describe('push JSON (protojson)', () => {
  it('round-trips, with camelCase names and base64 bytes', () => {
    fc.assert(
      fc.property(pushRequest, (req) => {
        assert.deepEqual(
          normalize(decodePushRequestJson(encodePushRequestJson(req))),
          normalize(req),
        );
      }),
      { numRuns: 200 },
    );
  });
  it('matches protobufjs toJSON field names', () => {
    const req: PushRequest = {
      series: [
        {
          labels: [{ name: 'a', value: 'b' }],
          samples: [{ rawProfile: Uint8Array.from([0xfb, 0xff]), id: 'x' }],
          annotations: [],
        },
      ],
    };
    assert.deepEqual(pushRequestToJson(req), {
      series: [{ labels: [{ name: 'a', value: 'b' }], samples: [{ rawProfile: '+/8=', ID: 'x' }] }],
    });
    assert.equal(encodePushRequestJson({ series: [] }), '{}');
  });
  it('bytes follow protojson: padded iff the length is a multiple of 4, one alphabet', () => {
    const parse = (b64: string) =>
      decodePushRequestJson(`{"series":[{"samples":[{"rawProfile":${JSON.stringify(b64)}}]}]}`);
    assert.equal(Buffer.from(parse('QQ==').series[0].samples[0].rawProfile).toString(), 'A');
    assert.equal(Buffer.from(parse('QQ').series[0].samples[0].rawProfile).toString(), 'A');
    for (const bad of ['QQ=', 'Q===', 'QUFB=', '2d1vMb+OSK8sfxNS6HXs=', '+_8=', 'Q']) {
      assert.throws(() => parse(bad), PushJsonError, bad);
    }
  });
  it('accepts proto names, URL-safe unpadded base64, nulls and unknown fields', () => {
    const got = decodePushRequestJson(
      '{"series":[{"labels":[{"name":"a","value":null}],"samples":[{"raw_profile":"-_8","ID":"i"}],"extra":1}],"annotations":null}',
    );
    assert.deepEqual(normalize(got), {
      series: [
        {
          labels: [{ name: 'a', value: '' }],
          samples: [{ rawProfile: 'fbff', id: 'i' }],
          annotations: [],
        },
      ],
    });
  });
});

describe('Connect envelope', () => {
  it('accepts the Connect unary content types and encodings', () => {
    assert.deepEqual(negotiatePush({ contentType: 'application/proto' }), {
      codec: 'proto',
      compression: 'identity',
    });
    assert.deepEqual(negotiatePush({ contentType: 'application/json', contentEncoding: 'gzip' }), {
      codec: 'json',
      compression: 'gzip',
    });
    assert.deepEqual(
      negotiatePush({
        contentType: 'Application/JSON; Charset=UTF-8',
        contentEncoding: 'identity',
      }),
      {
        codec: 'json',
        compression: 'identity',
      },
    );
    assert.deepEqual(
      negotiatePush({ contentType: 'application/proto', connectProtocolVersion: '1' }).codec,
      'proto',
    );
    assert.equal(
      canonicalizeContentType('application/json;charset=UTF-8'),
      'application/json; charset=utf-8',
    );
  });
  it('415 for other content types and other encodings (connect-go: 501), 400 for a bad protocol version', () => {
    const status = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        assert.ok(e instanceof ProtocolError);
        return [e.status, e.code, e.message];
      }
      assert.fail('no error');
    };
    assert.deepEqual(status(() => negotiatePush({ contentType: 'application/grpc' }))[0], 415);
    assert.deepEqual(
      status(() => negotiatePush({ contentType: 'application/x-protobuf' }))[0],
      415,
    );
    assert.deepEqual(
      status(() => negotiatePush({})),
      [415, 'unknown', 'unsupported content type ""'],
    );
    assert.deepEqual(
      status(() => negotiatePush({ contentType: 'application/proto', contentEncoding: 'br' })),
      [415, 'unimplemented', 'unknown compression "br": supported encodings are gzip'],
    );
    assert.deepEqual(
      status(() =>
        negotiatePush({ contentType: 'application/proto', connectProtocolVersion: '2' }),
      ),
      [400, 'invalid_argument', 'Connect-Protocol-Version must be "1": got "2"'],
    );
  });
  it('decodes gzip and plain bodies; sizes and corruption map to Connect errors', () => {
    const req: PushRequest = {
      series: [{ labels: [{ name: 'service_name', value: 'x' }], samples: [], annotations: [] }],
    };
    const bytes = encodePushRequest(req);
    assert.deepEqual(decodePushBody(bytes, { codec: 'proto', compression: 'identity' }, 0), req);
    assert.deepEqual(
      decodePushBody(gzipSync(bytes), { codec: 'proto', compression: 'gzip' }, 1000),
      req,
    );
    assert.deepEqual(
      decodePushBody(
        Buffer.from(encodePushRequestJson(req)),
        { codec: 'json', compression: 'identity' },
        0,
      ),
      req,
    );
    const err = (fn: () => unknown): ProtocolError => {
      try {
        fn();
      } catch (e) {
        assert.ok(isProtocolError(e));
        return e;
      }
      assert.fail('no error');
    };
    let e = err(() => decodePushBody(bytes, { codec: 'proto', compression: 'identity' }, 3));
    assert.deepEqual(
      [e.code, e.message],
      ['resource_exhausted', `message size ${bytes.length} is larger than configured max 3`],
    );
    e = err(() =>
      decodePushBody(gzipSync(Buffer.alloc(5000)), { codec: 'proto', compression: 'gzip' }, 4000),
    );
    assert.deepEqual(
      [e.code, e.message],
      ['resource_exhausted', 'message is larger than configured max 4000'],
    );
    e = err(() =>
      decodePushBody(gzipSync(bytes).subarray(0, 12), { codec: 'proto', compression: 'gzip' }, 0),
    );
    assert.deepEqual([e.code, e.message], ['invalid_argument', 'decompress: unexpected EOF']);
    e = err(() =>
      decodePushBody(Uint8Array.from([0x0a]), { codec: 'proto', compression: 'identity' }, 0),
    );
    assert.deepEqual(
      [e.code, e.status, e.message],
      ['invalid_argument', 400, 'unmarshal message: unexpected EOF'],
    );
    e = err(() => decodePushBody(new Uint8Array(0), { codec: 'json', compression: 'identity' }, 0));
    assert.equal(e.message, 'unmarshal message: zero-length payload is not a valid JSON object');
    e = err(() =>
      decodePushBody(Buffer.from('[1]'), { codec: 'json', compression: 'identity' }, 0),
    );
    assert.match(e.message, /^unmarshal message: unmarshal into \*pushv1\.PushRequest: proto: /);
  });
  it('pushProfileTooLargeError humanizes like go-humanize', () => {
    const e = pushProfileTooLargeError(4194304);
    assert.deepEqual(
      [e.status, e.code, e.reason, e.message],
      [
        400,
        'invalid_argument',
        'profile_size_limit',
        'uncompressed profile payload size exceeds limit of 4.2 MB',
      ],
    );
    assert.equal(
      pushProfileTooLargeError(268435456).message,
      'uncompressed profile payload size exceeds limit of 268 MB',
    );
    assert.equal(
      pushBatchTooLargeError(268435456).message,
      'uncompressed batched profile payload size exceeds limit of 268 MB',
    );
    const empty = noProfilesReceivedError();
    assert.deepEqual(
      [empty.status, empty.code, empty.message],
      [400, 'invalid_argument', 'no profiles received'],
    );
  });
});

describe('Connect errors', () => {
  it('maps codes to statuses as connect-go', () => {
    assert.equal(connectCodeToHttpStatus('invalid_argument'), 400);
    assert.equal(connectCodeToHttpStatus('unauthenticated'), 401);
    assert.equal(connectCodeToHttpStatus('permission_denied'), 403);
    assert.equal(connectCodeToHttpStatus('resource_exhausted'), 429);
    assert.equal(connectCodeToHttpStatus('unavailable'), 503);
    assert.equal(connectCodeToHttpStatus('unimplemented'), 501);
    assert.equal(connectCodeToHttpStatus('failed_precondition'), 400);
    assert.equal(connectCodeToHttpStatus('canceled'), 499);
    assert.equal(connectCodeToHttpStatus('deadline_exceeded'), 504);
    assert.equal(connectCodeToHttpStatus('internal'), 500);
  });
  it('maps /ingest statuses to codes as Pyroscope (422 and 408 are unknown)', () => {
    assert.equal(httpStatusToConnectCode(400), 'invalid_argument');
    assert.equal(httpStatusToConnectCode(413), 'invalid_argument');
    assert.equal(httpStatusToConnectCode(422), 'unknown');
    assert.equal(httpStatusToConnectCode(408), 'unknown');
    assert.equal(httpStatusToConnectCode(429), 'resource_exhausted');
    assert.equal(httpStatusToConnectCode(503), 'unavailable');
  });
  it('renders bodies as Go does', () => {
    assert.deepEqual(connectErrorResponse('invalid_argument', 'no profiles received'), {
      status: 400,
      contentType: 'application/json',
      body: '{"code":"invalid_argument","message":"no profiles received"}',
    });
    assert.equal(connectErrorResponse('unavailable', '').body, '{"code":"unavailable"}');
    assert.deepEqual(ingestErrorResponse(422, 'a <b> & "c"'), {
      status: 422,
      contentType: 'application/json',
      body: '{"code":"unknown","message":"a \\u003cb\\u003e \\u0026 \\"c\\""}\n',
    });
    assert.equal(
      ingestErrorResponse(400, "name: invalid service name: my app: character is not allowed: ' '")
        .body,
      `{"code":"invalid_argument","message":"name: invalid service name: my app: character is not allowed: ' '"}\n`,
    );
  });
});
