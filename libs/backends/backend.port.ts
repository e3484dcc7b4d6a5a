import type { NormalizedSeries } from '../queue/index.js';
import type { SendingOverrides } from './sending/sending-chain.js';

// A destination for normalised series. `send` resolves once the backend durably accepted every
// series given; it rejects with RetryableError (unavailable, throttled: try again, with
// retryAfterMs when the backend said how long) or PermanentError (the backend will never accept
// these). It must stop its I/O when `signal` aborts (the per-attempt timeout). Sending the same
// series twice must be harmless for correctness, but the exporter avoids it with its
// delivered-ids record.
export interface SendTarget<T> {
  /** stable name, part of delivered-id keys and metric labels */
  readonly name: string;
  /** how the exporter batches, times out and retries for this backend (defaults otherwise) */
  readonly sending?: SendingOverrides;
  /** bytes one item weighs in a batch (default: a series' pprof size) */
  sizeOf?(item: T): number;
  send(items: readonly T[], options?: { signal?: AbortSignal }): Promise<void>;
  close(): Promise<void>;
}

/** A profile backend: takes normalised series. */
export type Backend = SendTarget<NormalizedSeries>;

export const BACKENDS = Symbol('BACKENDS');
