// What a Push request may look like on the wire, and how to turn its body into a PushRequest
// with the errors connect-go would answer (pyroscope-protocol.md §2.2).
//
// Accepted (Connect unary protocol, POST):
//   Content-Type      application/proto                 binary protobuf
//                     application/json                  protojson
//                     application/json; charset=utf-8   protojson (parameters canonicalised first)
//   Content-Encoding  absent, `identity` or `gzip`      (anything else → 501 unimplemented)
//   Connect-Protocol-Version  absent or `1`             (anything else → 400 invalid_argument)
// Anything else (gRPC, gRPC-Web, Connect streaming types) → 415 with `Accept-Post`, empty body.
import { ProtocolError } from '../errors.js';
import { humanizeBytes } from '../go-compat.js';
import { inflateBounded } from '../gzip.js';
import { MediaTypeError, parseMediaType } from '../media-type.js';
import { PushJsonError, decodePushRequestJson } from './push-json.js';
import { decodePushRequest } from './push-request.js';
import type { PushRequest } from './push-request.js';
import { WireError } from './wire.js';

export type PushCodec = 'proto' | 'json';
export type PushCompression = 'gzip' | 'identity';

/** The value connect-go sends in `Accept-Post` with a 415. */
export const PUSH_ACCEPT_POST =
  'application/json, application/json; charset=utf-8, application/proto';

export interface PushEnvelope {
  codec: PushCodec;
  compression: PushCompression;
}

export interface PushHeaders {
  contentType?: string | null;
  contentEncoding?: string | null;
  connectProtocolVersion?: string | null;
}

function connectError(
  kind: ProtocolError['kind'],
  code: ProtocolError['code'],
  status: number,
  message: string,
  reason: ProtocolError['reason'] = 'malformed_profile',
  cause?: unknown,
): ProtocolError {
  return new ProtocolError({ kind, status, code, reason, message, cause });
}

/** connect-go's `canonicalizeContentType`. */
export function canonicalizeContentType(ct: string): string {
  if (/^[a-z.+-]*\/[a-z.+-]*$/.test(ct)) return ct;
  try {
    const { type, params } = parseMediaType(ct);
    const keys = [...params.keys()].sort();
    let out = type;
    for (const k of keys) {
      let v = params.get(k)!;
      if (k === 'charset') v = v.toLowerCase();
      out += `; ${k}=${/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(v) ? v : JSON.stringify(v)}`;
    }
    return out;
  } catch (e) {
    if (e instanceof MediaTypeError) return ct;
    throw e;
  }
}

/**
 * Checks the headers of a Push request. Throws `ProtocolError`: 415 `unsupported_media_type`
 * (answer with an empty body and `Accept-Post: PUSH_ACCEPT_POST`), 415 `unsupported_encoding`,
 * 400 `invalid_header`. connect-go answers an unknown Content-Encoding 501 (`unimplemented`);
 * Emberflow keeps the Connect code but answers 415, the status RFC 9110 §15.5.16 gives an
 * unsupported content coding: no input gets a 5xx other than 503 (issue 13).
 */
export function negotiatePush(h: PushHeaders): PushEnvelope {
  const ct = canonicalizeContentType(h.contentType ?? '');
  let codec: PushCodec;
  if (ct === 'application/proto') codec = 'proto';
  else if (ct === 'application/json' || ct === 'application/json; charset=utf-8') codec = 'json';
  else {
    throw connectError(
      'unsupported_media_type',
      'unknown',
      415,
      `unsupported content type ${JSON.stringify(h.contentType ?? '')}`,
      'unknown',
    );
  }
  const enc = h.contentEncoding ?? '';
  let compression: PushCompression = 'identity';
  if (enc !== '' && enc !== 'identity') {
    if (enc !== 'gzip') {
      throw connectError(
        'unsupported_encoding',
        'unimplemented',
        415,
        `unknown compression ${JSON.stringify(enc)}: supported encodings are gzip`,
        'unknown',
      );
    }
    compression = 'gzip';
  }
  const version = h.connectProtocolVersion ?? '';
  if (version !== '' && version !== '1') {
    throw connectError(
      'invalid_header',
      'invalid_argument',
      400,
      `Connect-Protocol-Version must be "1": got ${JSON.stringify(version)}`,
      'unknown',
    );
  }
  return { codec, compression };
}

/** connect-go's answer to a message over `readMaxBytes` (resource_exhausted → 429). */
export function messageTooLargeError(
  size: number | undefined,
  readMaxBytes: number,
): ProtocolError {
  return connectError(
    'body_too_large',
    'resource_exhausted',
    429,
    size === undefined
      ? `message is larger than configured max ${readMaxBytes}`
      : `message size ${size} is larger than configured max ${readMaxBytes}`,
    'body_size_limit_exceeded',
  );
}

/**
 * Decompresses (bounded by `readMaxBytes`, 0 = unlimited) and decodes a Push body. Throws
 * `ProtocolError` with Connect codes: resource_exhausted for size, invalid_argument for
 * `decompress: ...` and `unmarshal message: ...`. The decoded `rawProfile` views point into
 * `body` (identity) or into the inflated copy (gzip).
 */
export function decodePushBody(
  body: Uint8Array,
  envelope: PushEnvelope,
  readMaxBytes: number,
): PushRequest {
  if (readMaxBytes > 0 && body.length > readMaxBytes) {
    throw messageTooLargeError(body.length, readMaxBytes);
  }
  let data = body;
  if (envelope.compression === 'gzip' && body.length > 0) {
    try {
      data = inflateBounded(body, readMaxBytes);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      // connect-go keeps inflating to report the exact size; we stop at the cap instead.
      if (e.kind === 'profile_too_large') throw messageTooLargeError(undefined, readMaxBytes);
      throw connectError(
        e.kind,
        'invalid_argument',
        400,
        `decompress: ${e.message}`,
        'malformed_profile',
        e,
      );
    }
  }
  try {
    if (envelope.codec === 'proto') return decodePushRequest(data);
    if (data.length === 0)
      throw new PushJsonError('zero-length payload is not a valid JSON object');
    try {
      return decodePushRequestJson(data);
    } catch (e) {
      if (e instanceof PushJsonError) {
        throw new PushJsonError(`unmarshal into *pushv1.PushRequest: proto: ${e.message}`);
      }
      throw e;
    }
  } catch (e) {
    if (e instanceof WireError || e instanceof PushJsonError) {
      throw connectError(
        'invalid_message',
        'invalid_argument',
        400,
        `unmarshal message: ${e.message}`,
        'malformed_profile',
        e,
      );
    }
    throw e;
  }
}

/**
 * Pyroscope's Push answer when a pprof inflates past `max_profile_size_bytes`:
 * `uncompressed profile payload size exceeds limit of 4.2 MB` (400, `profile_size_limit`).
 */
export function pushProfileTooLargeError(maxProfileSizeBytes: number): ProtocolError {
  return connectError(
    'profile_too_large',
    'invalid_argument',
    400,
    `uncompressed profile payload size exceeds limit of ${humanizeBytes(maxProfileSizeBytes)}`,
    'profile_size_limit',
  );
}

/**
 * Pyroscope's Push answer when the decompressed profiles of one request exceed
 * `ingestion_body_limit`: `uncompressed batched profile payload size exceeds limit of 268 MB`
 * (400, `body_size_limit_exceeded`).
 */
export function pushBatchTooLargeError(ingestionBodyLimitBytes: number): ProtocolError {
  return connectError(
    'body_too_large',
    'invalid_argument',
    400,
    `uncompressed batched profile payload size exceeds limit of ${humanizeBytes(ingestionBodyLimitBytes)}`,
    'body_size_limit_exceeded',
  );
}

/** Pyroscope's Push answer to a request without any sample: `no profiles received` (400). */
export function noProfilesReceivedError(): ProtocolError {
  return connectError(
    'invalid_message',
    'invalid_argument',
    400,
    'no profiles received',
    'unknown',
  );
}
