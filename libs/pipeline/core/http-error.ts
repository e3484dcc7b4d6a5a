// Error bodies in Pyroscope's shape: JSON {"code": "<connect code>", "message": "<text>"}
// (pkg/util/http/error.go), so agents and people see what Pyroscope would show them.
import type { IngestParams, UploadFormat } from '../../protocol/index.js';

export const CONNECT_CODE_BY_STATUS: Record<number, string> = {
  400: 'invalid_argument',
  401: 'unauthenticated',
  403: 'permission_denied',
  404: 'not_found',
  405: 'unimplemented',
  408: 'deadline_exceeded',
  409: 'already_exists',
  413: 'resource_exhausted',
  415: 'invalid_argument',
  422: 'invalid_argument',
  429: 'resource_exhausted',
  500: 'internal',
  501: 'unimplemented',
  503: 'unavailable',
  504: 'deadline_exceeded',
};

export interface ErrorBody {
  code: string;
  message: string;
}

export function errorBody(status: number, message: string, code?: string): ErrorBody {
  return { code: code ?? CONNECT_CODE_BY_STATUS[status] ?? 'unknown', message };
}

/** A failure to answer with a status, a Pyroscope-shaped body and optional headers. */
export class HttpFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason: string,
    readonly headers: Record<string, string> = {},
    readonly code?: string,
  ) {
    super(message);
  }

  /**
   * The upload this failure refused, when its parameters were read (the structural scan's
   * refusals): the fleet view records it as the agent's last error.
   */
  upload?: { params: IngestParams; format: UploadFormat };
}
