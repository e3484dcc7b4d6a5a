// The one error type decoders throw. `kind` is closed; each kind maps to a discard reason named
// after Pyroscope's `validation.Reason` (pkg/validation/validate.go), so metrics and DLQ entries
// read the same as Pyroscope's `pyroscope_discarded_samples_total{reason}`.

export type DecodeErrorKind =
  /** bytes that do not parse: bad protobuf, bad varint, bad JSON, bad folded value, ... */
  | 'malformed'
  /** input ends inside a structure */
  | 'truncated'
  /** a string that is not valid UTF-8 (Pyroscope: `invalid utf8 string hex: ...`) */
  | 'invalid_utf8'
  /** decompressed (or raw) profile larger than `maxDecompressedBytes` */
  | 'too_large'
  /** the sum of decompressed profiles of one Push above `maxRequestDecompressedBytes` */
  | 'body_too_large'
  /** more samples than `maxSamples` (max_profile_stacktrace_samples) */
  | 'too_many_samples'
  /** a sample with more labels than `maxSampleLabels` */
  | 'too_many_sample_labels'
  /** structurally invalid pprof (empty sample types, id 0, index out of range, `-` in a type) */
  | 'invalid_profile'
  /** labels that cannot be repaired (no `__name__`, unknown legacy type suffix) */
  | 'invalid_labels'
  /** a Push request without profiles */
  | 'no_profiles'
  /** the deprecated `prev_profile` part (Pyroscope: "unsupported client version") */
  | 'unsupported_client'
  /** a format this build cannot decode (no decoder registered) */
  | 'unsupported_format'
  /** profile time outside the ingestion window (only when the window limits are set) */
  | 'not_in_ingestion_window';

/** Discard reasons (Pyroscope `validation.Reason` values). */
export type DiscardReason =
  | 'malformed_profile'
  | 'profile_size_limit'
  | 'body_size_limit_exceeded'
  | 'samples_limit'
  | 'sample_labels_limit'
  | 'invalid_labels'
  | 'not_in_ingestion_window'
  | 'unknown';

const REASONS: Record<DecodeErrorKind, DiscardReason> = {
  malformed: 'malformed_profile',
  truncated: 'malformed_profile',
  invalid_utf8: 'malformed_profile',
  too_large: 'profile_size_limit',
  body_too_large: 'body_size_limit_exceeded',
  too_many_samples: 'samples_limit',
  too_many_sample_labels: 'sample_labels_limit',
  invalid_profile: 'malformed_profile',
  invalid_labels: 'invalid_labels',
  no_profiles: 'malformed_profile',
  unsupported_client: 'malformed_profile',
  unsupported_format: 'unknown',
  not_in_ingestion_window: 'not_in_ingestion_window',
};

export function discardReason(kind: DecodeErrorKind): DiscardReason {
  return REASONS[kind];
}

export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  readonly kind: DecodeErrorKind;
  readonly reason: DiscardReason;
  /** true: the input can never decode (DLQ); false: a missing dependency, retry later */
  readonly permanent: boolean;

  constructor(
    kind: DecodeErrorKind,
    message: string,
    opts: { permanent?: boolean; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.kind = kind;
    this.reason = REASONS[kind];
    this.permanent = opts.permanent ?? true;
  }
}

/** Shape check rather than `instanceof`, so it holds across duplicated module copies. */
export function isDecodeError(e: unknown): e is DecodeError {
  if (typeof e !== 'object' || e === null) return false;
  const x = e as { name?: unknown; kind?: unknown; permanent?: unknown };
  return (
    x.name === 'DecodeError' &&
    typeof x.kind === 'string' &&
    Object.hasOwn(REASONS, x.kind) &&
    typeof x.permanent === 'boolean'
  );
}
