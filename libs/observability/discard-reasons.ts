// Why an upload or series was dropped, after Pyroscope's validation.Reason names so dashboards
// built for Pyroscope read the same. Every discard is counted under exactly one reason.
export const DISCARD_REASONS = [
  'invalid_labels',
  'invalid_param',
  'malformed_profile',
  'invalid_utf8',
  'profile_size_limit',
  'body_size_limit',
  'samples_limit',
  'sample_labels_limit',
  'max_label_names_per_series',
  'not_in_ingestion_window',
  'rate_limited',
  'unauthorized',
  'unsupported_format',
  'prev_profile',
  'bad_message',
  'export_rejected',
  'duplicate',
  'dropped_by_relabel',
  'message_too_large',
  'invalid_record',
  'corrupt_message',
  'invalid_timestamp',
  'retry_budget_exhausted',
  'dead_letter_evicted',
  'malformed_otlp',
  // Emberflow's own: the request could not be handled now (503), nothing wrong with it
  'queue_unavailable',
  'store_unavailable',
  'handler_timeout',
  'shutting_down',
  'unknown',
] as const;
export type DiscardReason = (typeof DISCARD_REASONS)[number];

export function asDiscardReason(reason: string): DiscardReason {
  return (DISCARD_REASONS as readonly string[]).includes(reason)
    ? (reason as DiscardReason)
    : 'unknown';
}
