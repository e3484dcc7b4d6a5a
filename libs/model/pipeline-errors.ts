// Permanent vs retryable, as the OpenTelemetry Collector's consumererror: every failure is
// classified where it arises, and each class has one HTTP status and one queue action.

/** A dependency (Kafka, Redis, a backend) is unavailable or slow: try again later. */
export class RetryableError extends Error {
  override readonly name = 'RetryableError';
  constructor(
    message: string,
    /** when the dependency told us how long to wait (Retry-After), in ms */
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The input can never succeed (bad data, rejected by a backend): dead-letter it. */
export class PermanentError extends Error {
  override readonly name = 'PermanentError';
  constructor(
    message: string,
    /** discard reason, after Pyroscope's validation.Reason */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isRetryable(err: unknown): err is RetryableError {
  return err instanceof RetryableError;
}

export function isPermanent(err: unknown): err is PermanentError {
  return err instanceof PermanentError;
}

/** Exponential backoff with full jitter: 0..min(cap, base*2^attempt). */
export function backoffMs(attempt: number, baseMs = 100, capMs = 10_000): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 20));
  return Math.floor(ceiling / 2 + (Math.random() * ceiling) / 2);
}
