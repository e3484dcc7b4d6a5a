// Error bodies as Pyroscope writes them. Push (connect-go) and /ingest (Pyroscope's own
// `httputil.ErrorWithStatus`) both answer `{"code":"<connect code>","message":"<text>"}` with
// Content-Type application/json, but they map between codes and statuses differently:
//  - Push: status from the Connect code (connect-go `connectCodeToHTTP`);
//  - /ingest: code from the HTTP status (Pyroscope `HTTPToCode`), so a 422 reads `unknown`.
import type { ConnectCode, ProtocolError } from '../errors.js';

/** connect-go's Connect code → HTTP status (the Connect protocol specification). */
export function connectCodeToHttpStatus(code: ConnectCode): number {
  switch (code) {
    case 'canceled':
      return 499;
    case 'unknown':
      return 500;
    case 'invalid_argument':
      return 400;
    case 'deadline_exceeded':
      return 504;
    case 'not_found':
      return 404;
    case 'already_exists':
      return 409;
    case 'permission_denied':
      return 403;
    case 'resource_exhausted':
      return 429;
    case 'failed_precondition':
      return 400;
    case 'aborted':
      return 409;
    case 'out_of_range':
      return 400;
    case 'unimplemented':
      return 501;
    case 'internal':
      return 500;
    case 'unavailable':
      return 503;
    case 'data_loss':
      return 500;
    case 'unauthenticated':
      return 401;
  }
}

/** Pyroscope's `connectgrpc.HTTPToCode`: the `code` field of an /ingest error body. */
export function httpStatusToConnectCode(status: number): ConnectCode {
  switch (status) {
    case 400:
      return 'invalid_argument';
    case 401:
      return 'unauthenticated';
    case 403:
      return 'permission_denied';
    case 404:
      return 'unimplemented';
    case 412:
      return 'failed_precondition';
    case 413:
      return 'invalid_argument';
    case 429:
    case 431:
      return 'resource_exhausted';
    case 499:
      return 'canceled';
    case 502:
    case 503:
      return 'unavailable';
    case 504:
      return 'deadline_exceeded';
    default:
      return 'unknown';
  }
}

export interface ErrorResponse {
  status: number;
  /** always `application/json` */
  contentType: 'application/json';
  /** the exact body bytes as text */
  body: string;
}

/** Go's encoding/json string escaping (HTML-safe: `<`, `>`, `&`, U+2028, U+2029 escaped). */
export function goJsonString(s: string): string {
  return JSON.stringify(s)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/**
 * The Connect error body for a failed Push: `{"code":"invalid_argument","message":"..."}` and the
 * status for its code. An empty message is omitted, as connect-go does.
 */
export function connectErrorResponse(code: ConnectCode, message: string): ErrorResponse {
  const body =
    message === ''
      ? `{"code":${goJsonString(code)}}`
      : `{"code":${goJsonString(code)},"message":${goJsonString(message)}}`;
  return { status: connectCodeToHttpStatus(code), contentType: 'application/json', body };
}

/**
 * The /ingest error body for `status`: `{"code":"<HTTPToCode(status)>","message":"..."}` plus the
 * newline Go's json.Encoder appends.
 */
export function ingestErrorResponse(status: number, message: string): ErrorResponse {
  const code = httpStatusToConnectCode(status);
  return {
    status,
    contentType: 'application/json',
    body: `{"code":${goJsonString(code)},"message":${goJsonString(message)}}\n`,
  };
}

/** A ProtocolError as the Push API reports it (its Connect code decides the status). */
export function protocolErrorToConnect(e: ProtocolError): ErrorResponse {
  return connectErrorResponse(e.code, e.message);
}

/** A ProtocolError as /ingest reports it (its HTTP status decides the code). */
export function protocolErrorToIngest(e: ProtocolError): ErrorResponse {
  return ingestErrorResponse(e.status, e.message);
}
