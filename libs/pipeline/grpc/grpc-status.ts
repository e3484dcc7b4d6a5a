import { Metadata, status as Status, type ServiceError } from '@grpc/grpc-js';
import { CONNECT_CODE_BY_STATUS, HttpFailure } from '../core/http-error.js';

// Our errors as gRPC statuses. Connect codes are gRPC's codes by name, so an HttpFailure that
// carries a Connect code keeps it; otherwise its HTTP status picks the code the way
// CONNECT_CODE_BY_STATUS does for HTTP (400/415/422 InvalidArgument, 401 Unauthenticated,
// 413/429 ResourceExhausted, 503 Unavailable, ...). Retry-After travels as `retry-after`
// metadata in the trailers, so a client can honour it as it would over HTTP.

const CODE_BY_NAME: Record<string, Status> = {
  canceled: Status.CANCELLED,
  unknown: Status.UNKNOWN,
  invalid_argument: Status.INVALID_ARGUMENT,
  deadline_exceeded: Status.DEADLINE_EXCEEDED,
  not_found: Status.NOT_FOUND,
  already_exists: Status.ALREADY_EXISTS,
  permission_denied: Status.PERMISSION_DENIED,
  resource_exhausted: Status.RESOURCE_EXHAUSTED,
  failed_precondition: Status.FAILED_PRECONDITION,
  aborted: Status.ABORTED,
  out_of_range: Status.OUT_OF_RANGE,
  unimplemented: Status.UNIMPLEMENTED,
  internal: Status.INTERNAL,
  unavailable: Status.UNAVAILABLE,
  data_loss: Status.DATA_LOSS,
  unauthenticated: Status.UNAUTHENTICATED,
};

/** The gRPC code for an HTTP status and optional Connect code. */
export function grpcCodeOf(httpStatus: number, connectCode?: string): Status {
  const byCode = connectCode !== undefined ? CODE_BY_NAME[connectCode] : undefined;
  if (byCode !== undefined) return byCode;
  return CODE_BY_NAME[CONNECT_CODE_BY_STATUS[httpStatus] ?? 'unknown'] ?? Status.UNKNOWN;
}

/** An error for grpc-js's callback: code, message and Retry-After as trailer metadata. */
export function toServiceError(err: unknown): Partial<ServiceError> {
  return toStatus(err);
}

/** The same as a call's status (what an interceptor sends to refuse a call). */
export function toStatus(err: unknown): { code: Status; details: string; metadata: Metadata } {
  const f =
    err instanceof HttpFailure
      ? err
      : new HttpFailure(
          500,
          `internal error: ${(err as Error)?.message ?? String(err)}`,
          'unknown',
        );
  const metadata = new Metadata();
  const retryAfter = f.headers['retry-after'];
  if (retryAfter !== undefined) metadata.set('retry-after', retryAfter);
  return { code: grpcCodeOf(f.status, f.code), details: f.message, metadata };
}
