// OTLP/HTTP and OTLP/gRPC profiles requests (`POST /v1development/profiles`,
// `opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export`): the envelope
// (content type, encoding), the decoded ExportProfilesServiceRequest in the generated types
// (gen/, protoc-gen-es over opentelemetry-proto v1.10.0, ADR 0014), and the error body the
// OTLP/HTTP specification asks for (a google.rpc.Status in the request's encoding).
//
// Failures are ProtocolErrors with the OTLP/HTTP status: 415 for a content type or encoding
// it does not define, 413 for a body that inflates past the limit (a gzip bomb costs at most
// the limit), 400 for bytes that do not decode.
import {
  create,
  fromBinary,
  fromJson,
  toBinary,
  toJsonString,
  type JsonValue,
} from '@bufbuild/protobuf';
import { ProtocolError } from '../errors.js';
import { inflateBounded } from '../gzip.js';
import { jsonTooDeepAt } from '../json-limits.js';
import { MediaTypeError, parseMediaType } from '../media-type.js';
import {
  ExportProfilesServiceRequestSchema,
  type ExportProfilesServiceRequest,
} from './gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js';
import { StatusSchema } from './gen/google/rpc/status_pb.js';

export type OtlpCodec = 'proto' | 'json';

export interface OtlpEnvelope {
  codec: OtlpCodec;
  gzip: boolean;
}

/** The content types OTLP/HTTP defines (Pyroscope accepts the same three). */
export const OTLP_CONTENT_TYPES = [
  'application/x-protobuf',
  'application/protobuf',
  'application/json',
];

function fail(
  kind: ProtocolError['kind'],
  status: number,
  message: string,
  cause?: unknown,
): ProtocolError {
  const code = status === 413 ? 'resource_exhausted' : 'invalid_argument';
  const reason = status === 413 ? 'body_size_limit_exceeded' : 'malformed_profile';
  return new ProtocolError({ kind, status, code, reason, message, cause });
}

/** Checks Content-Type and Content-Encoding of an OTLP/HTTP request; throws 415. */
export function negotiateOtlp(h: {
  contentType?: string | null;
  contentEncoding?: string | null;
}): OtlpEnvelope {
  let type = '';
  try {
    type = parseMediaType(h.contentType ?? '').type;
  } catch (e) {
    if (!(e instanceof MediaTypeError)) throw e;
  }
  let codec: OtlpCodec;
  if (type === 'application/x-protobuf' || type === 'application/protobuf') codec = 'proto';
  else if (type === 'application/json') codec = 'json';
  else
    throw fail(
      'unsupported_media_type',
      415,
      `unsupported Content-Type ${JSON.stringify(h.contentType ?? '')}: OTLP/HTTP takes ${OTLP_CONTENT_TYPES.join(', ')}`,
    );
  const enc = (h.contentEncoding ?? '').trim().toLowerCase();
  if (enc !== '' && enc !== 'identity' && enc !== 'gzip')
    throw fail(
      'unsupported_encoding',
      415,
      `unsupported Content-Encoding ${JSON.stringify(h.contentEncoding)}: send gzip or no encoding`,
    );
  return { codec, gzip: enc === 'gzip' };
}

/**
 * OTLP/JSON writes trace, span and profile ids as hex, where the protobuf JSON mapping expects
 * base64 for bytes: rewrite them (in place) before the generic JSON reader sees them.
 */
const HEX_ID_FIELDS = new Set([
  'traceId',
  'trace_id',
  'spanId',
  'span_id',
  'profileId',
  'profile_id',
]);

function hexIdsToBase64(v: unknown): void {
  if (Array.isArray(v)) {
    for (const x of v) hexIdsToBase64(x);
    return;
  }
  if (typeof v !== 'object' || v === null) return;
  const o = v as Record<string, unknown>;
  for (const [k, x] of Object.entries(o)) {
    if (HEX_ID_FIELDS.has(k) && typeof x === 'string') {
      if (x.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(x))
        throw fail(
          'invalid_message',
          400,
          `${k} must be hex-encoded (OTLP/JSON), got ${JSON.stringify(x.slice(0, 64))}`,
        );
      o[k] = Buffer.from(x, 'hex').toString('base64');
    } else hexIdsToBase64(x);
  }
}

/**
 * Decodes the body of an OTLP profiles request: inflated when the envelope says gzip (never past
 * `maxBytes`), then protobuf or OTLP/JSON. Unknown JSON fields are ignored, as OTLP/JSON requires.
 */
export function decodeExportProfilesRequest(
  body: Uint8Array,
  envelope: OtlpEnvelope,
  maxBytes: number,
): ExportProfilesServiceRequest {
  let bytes = body;
  if (envelope.gzip) {
    try {
      bytes = inflateBounded(body, maxBytes);
    } catch (e) {
      const pe = e as ProtocolError;
      if (pe.kind === 'profile_too_large')
        throw fail(
          'body_too_large',
          413,
          `the request body inflates past ${maxBytes} bytes (EMBER_MAX_BODY_BYTES)`,
          e,
        );
      throw fail('truncated', 400, `the gzip body does not inflate: ${pe.message}`, e);
    }
  }
  if (envelope.codec === 'proto') {
    try {
      return fromBinary(ExportProfilesServiceRequestSchema, bytes);
    } catch (e) {
      throw fail(
        'invalid_message',
        400,
        `the body is not an ExportProfilesServiceRequest: ${(e as Error).message}`,
        e,
      );
    }
  }
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  const depth = jsonTooDeepAt(text);
  if (depth >= 0)
    throw fail('invalid_message', 400, `the JSON body nests too deep (at offset ${depth})`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw fail('invalid_message', 400, `the body is not JSON: ${(e as Error).message}`, e);
  }
  hexIdsToBase64(json);
  try {
    return fromJson(ExportProfilesServiceRequestSchema, json as JsonValue, {
      ignoreUnknownFields: true,
    });
  } catch (e) {
    throw fail(
      'invalid_message',
      400,
      `the body is not an ExportProfilesServiceRequest: ${(e as Error).message}`,
      e,
    );
  }
}

/** The OTLP/HTTP error body: a google.rpc.Status in the request's encoding. */
export function otlpStatusBody(
  codec: OtlpCodec,
  grpcCode: number,
  message: string,
): Uint8Array | string {
  const status = create(StatusSchema, { code: grpcCode, message });
  return codec === 'json' ? toJsonString(StatusSchema, status) : toBinary(StatusSchema, status);
}

/** The content type an OTLP/HTTP answer carries for a request of `codec`. */
export function otlpContentType(codec: OtlpCodec): string {
  return codec === 'json' ? 'application/json' : 'application/x-protobuf';
}
