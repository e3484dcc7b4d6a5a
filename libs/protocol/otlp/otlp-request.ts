import { fromBinary, fromJson, toBinary, type Message } from '@bufbuild/protobuf';
import { inflateBounded } from '../gzip.js';
import { ProtocolError, isProtocolError } from '../errors.js';
import { OtlpJsonError, parseOtlpJson } from './otlp-json.js';
import { OTLP_SIGNAL_SPECS, type OtlpSignal } from './otlp-signal.js';

// Reading an OTLP/HTTP Export request (OTLP spec 1.x, "OTLP/HTTP"): the body is a binary
// protobuf (`application/x-protobuf`) or OTLP/JSON (`application/json`) Export*ServiceRequest,
// optionally `Content-Encoding: gzip`. Failures map to the spec's answers:
//   415 a content type other than those two, or an encoding other than gzip / identity;
//   413 a body, or its inflated form, over the limit (a gzip bomb stops at the limit);
//   400 bytes that do not decode (truncated protobuf, bad JSON, ids that are not 16/8 bytes).
// The decoded request is re-encoded as binary protobuf: that canonical form is what travels
// through the queue and what retries are deduplicated on, whatever encoding the client chose.

export type OtlpEncoding = 'protobuf' | 'json';

export interface OtlpRequestInput {
  signal: OtlpSignal;
  contentType: string;
  contentEncoding: string;
  body: Uint8Array;
  /** largest body, compressed or inflated */
  maxBytes: number;
}

export interface DecodedOtlpRequest<M extends Message = Message> {
  signal: OtlpSignal;
  encoding: OtlpEncoding;
  message: M;
  /** the request as binary protobuf (the body itself when it was sent so, uncompressed) */
  canonical: Uint8Array;
}

/** The encoding a Content-Type names, or null when OTLP/HTTP does not define it. */
export function otlpEncodingOf(contentType: string): OtlpEncoding | null {
  const t = contentType.split(';')[0].trim().toLowerCase();
  if (t === 'application/x-protobuf' || t === 'application/protobuf') return 'protobuf';
  if (t === 'application/json') return 'json';
  return null;
}

function fail(
  status: 400 | 413 | 415,
  kind: ProtocolError['kind'],
  message: string,
  cause?: unknown,
): ProtocolError {
  return new ProtocolError({
    kind,
    status,
    code: status === 413 ? 'resource_exhausted' : 'invalid_argument',
    reason: status === 413 ? 'body_size_limit_exceeded' : 'malformed_otlp',
    message,
    cause,
  });
}

export function decodeOtlpRequest(input: OtlpRequestInput): DecodedOtlpRequest {
  const spec = OTLP_SIGNAL_SPECS[input.signal];
  const encoding = otlpEncodingOf(input.contentType);
  if (encoding === null) {
    throw fail(
      415,
      'unsupported_media_type',
      `unsupported content type ${JSON.stringify(input.contentType.slice(0, 100))}: OTLP/HTTP takes application/x-protobuf or application/json`,
    );
  }
  const ce = input.contentEncoding.trim().toLowerCase();
  if (ce !== '' && ce !== 'identity' && ce !== 'gzip') {
    throw fail(
      415,
      'unsupported_encoding',
      `unsupported Content-Encoding ${JSON.stringify(ce.slice(0, 40))}: send gzip or none`,
    );
  }
  if (input.body.length > input.maxBytes) {
    throw fail(413, 'body_too_large', `request body over ${input.maxBytes} bytes`);
  }
  let bytes = input.body;
  if (ce === 'gzip') {
    try {
      bytes = inflateBounded(input.body, input.maxBytes);
    } catch (err) {
      if (isProtocolError(err) && err.kind === 'profile_too_large') {
        throw fail(
          413,
          'body_too_large',
          `request body inflates past ${input.maxBytes} bytes (EMBER_MAX_BODY_BYTES)`,
          err,
        );
      }
      throw fail(400, 'corrupt', `gzip body does not inflate: ${(err as Error).message}`, err);
    }
  }
  let message: Message;
  let canonical: Uint8Array;
  try {
    if (encoding === 'protobuf') {
      message = fromBinary(spec.request, bytes);
      canonical = bytes;
    } else {
      const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JsonValue of any shape
      message = fromJson(spec.request, parseOtlpJson(text) as any, { ignoreUnknownFields: true });
      canonical = toBinary(spec.request, message);
    }
  } catch (err) {
    const why = err instanceof OtlpJsonError ? err.message : (err as Error).message;
    throw fail(
      400,
      encoding === 'protobuf' ? 'truncated' : 'invalid_message',
      `cannot decode the ${encoding === 'protobuf' ? 'protobuf' : 'JSON'} ${spec.request.name}: ${why}`,
      err,
    );
  }
  checkIds(input.signal, message);
  return { signal: input.signal, encoding, message, canonical };
}

/** Trace ids are 16 bytes and span ids 8 (or empty where optional), as the Collector checks. */
function checkIds(signal: OtlpSignal, message: Message): void {
  if (signal !== 'traces') return;
  const req = message as unknown as {
    resourceSpans: {
      scopeSpans: {
        spans: { traceId: Uint8Array; spanId: Uint8Array; parentSpanId: Uint8Array }[];
      }[];
    }[];
  };
  for (const rs of req.resourceSpans)
    for (const ss of rs.scopeSpans)
      for (const s of ss.spans) {
        if (s.traceId.length !== 16)
          throw fail(
            400,
            'invalid_message',
            `span has a trace id of ${s.traceId.length} bytes, not 16`,
          );
        if (s.spanId.length !== 8)
          throw fail(
            400,
            'invalid_message',
            `span has a span id of ${s.spanId.length} bytes, not 8`,
          );
        if (s.parentSpanId.length !== 0 && s.parentSpanId.length !== 8)
          throw fail(
            400,
            'invalid_message',
            `span has a parent span id of ${s.parentSpanId.length} bytes, not 8 or none`,
          );
      }
}

/** The empty Export response in the request's encoding (a full success). */
export function otlpSuccessBody(encoding: OtlpEncoding): Uint8Array | string {
  return encoding === 'protobuf' ? new Uint8Array(0) : '{}';
}
