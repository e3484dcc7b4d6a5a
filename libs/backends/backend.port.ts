import type { NormalizedSeries } from '../queue/index.js';

// A destination for normalised series. `send` resolves once the backend durably accepted every
// series given; it rejects with RetryableError (unavailable, throttled: try again) or
// PermanentError (the backend will never accept these). Sending the same series twice must be
// harmless for correctness, but the exporter avoids it with its delivered-ids record.
export interface Backend {
  /** stable name, part of delivered-id keys and metric labels */
  readonly name: string;
  send(series: readonly NormalizedSeries[]): Promise<void>;
  close(): Promise<void>;
}

export const BACKENDS = Symbol('BACKENDS');
