// The one error type the protocol library throws. Every failure carries what the edge needs to
// answer exactly as Pyroscope would (HTTP status on /ingest, Connect code on Push) and the
// discard reason to count it under (names follow Pyroscope's `validation.Reason`).

/** Pyroscope's `validation.Reason` values (pkg/validation/validate.go). */
export type DiscardReason =
  | 'unknown'
  | 'invalid_labels'
  | 'missing_labels'
  | 'rate_limited'
  | 'not_in_ingestion_window'
  | 'max_label_names_per_series'
  | 'label_name_too_long'
  | 'label_value_too_long'
  | 'duplicate_label_names'
  | 'series_limit'
  | 'samples_limit'
  | 'profile_size_limit'
  | 'sample_labels_limit'
  | 'malformed_profile'
  | 'ingest_limit_reached'
  | 'dropped_by_sampling_rules'
  | 'body_size_limit_exceeded'
  | 'dropped_by_relabel_rules'
  // Emberflow's own: an OTLP request (traces, metrics, logs) that does not decode
  | 'malformed_otlp';

/** Connect error codes (connectrpc.com/connect `Code.String()`). */
export type ConnectCode =
  | 'canceled'
  | 'unknown'
  | 'invalid_argument'
  | 'deadline_exceeded'
  | 'not_found'
  | 'already_exists'
  | 'permission_denied'
  | 'resource_exhausted'
  | 'failed_precondition'
  | 'aborted'
  | 'out_of_range'
  | 'unimplemented'
  | 'internal'
  | 'unavailable'
  | 'data_loss'
  | 'unauthenticated';

/** What went wrong, closed set; `reason` and `status` follow from it at the throw site. */
export type ProtocolErrorKind =
  | 'invalid_name' // `name` query parameter (§1.2)
  | 'body_too_large' // request body over the ingestion body limit
  | 'profile_too_large' // decompressed payload over max_profile_size_bytes
  | 'truncated' // gzip / proto / multipart ended early
  | 'corrupt' // gzip or proto bytes that cannot be read
  | 'malformed_multipart' // content type without boundary, broken boundaries, too many parts
  | 'missing_part' // a required form part is absent
  | 'unsupported_client' // pprof form with prev_profile
  | 'invalid_config' // sample_type_config JSON
  | 'unsupported_media_type' // Push Content-Type not application/proto or application/json
  | 'unsupported_encoding' // Push Content-Encoding other than gzip / identity
  | 'invalid_message' // Push message (proto or JSON) that does not decode
  | 'invalid_header' // Connect-Protocol-Version and similar
  | 'unauthenticated'; // missing or invalid X-Scope-OrgID with multitenancy on

export interface ProtocolErrorInit {
  kind: ProtocolErrorKind;
  /** HTTP status on `/ingest` (Pyroscope's), or on Push via the Connect mapping */
  status: number;
  /** Connect code used when the same failure is reported by the Push API */
  code: ConnectCode;
  reason: DiscardReason;
  message: string;
  cause?: unknown;
}

/**
 * A permanent, client-caused failure (never retryable: the same bytes fail the same way).
 * `message` is the exact text Pyroscope puts in the `message` field of its error body.
 */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  readonly kind: ProtocolErrorKind;
  readonly status: number;
  readonly code: ConnectCode;
  readonly reason: DiscardReason;

  constructor(init: ProtocolErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.kind = init.kind;
    this.status = init.status;
    this.code = init.code;
    this.reason = init.reason;
  }

  /** The same failure with a message prefix (Go's `fmt.Errorf("prefix%w", err)`). */
  wrap(prefix: string, overrides: Partial<Omit<ProtocolErrorInit, 'message'>> = {}): ProtocolError {
    return new ProtocolError({
      kind: overrides.kind ?? this.kind,
      status: overrides.status ?? this.status,
      code: overrides.code ?? this.code,
      reason: overrides.reason ?? this.reason,
      message: prefix + this.message,
      cause: this,
    });
  }
}

/** Shape check rather than `instanceof`, so it also holds across duplicated package copies. */
export function isProtocolError(e: unknown): e is ProtocolError {
  if (typeof e !== 'object' || e === null) return false;
  const r = e as Record<string, unknown>;
  return (
    r.name === 'ProtocolError' &&
    typeof r.kind === 'string' &&
    typeof r.status === 'number' &&
    typeof r.code === 'string' &&
    typeof r.reason === 'string' &&
    typeof r.message === 'string'
  );
}

/** 422 on /ingest, invalid_argument on Push: a body that does not parse. */
export function unprocessable(
  kind: ProtocolErrorKind,
  message: string,
  reason: DiscardReason = 'malformed_profile',
  cause?: unknown,
): ProtocolError {
  return new ProtocolError({ kind, status: 422, code: 'invalid_argument', reason, message, cause });
}
