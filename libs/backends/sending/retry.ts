import { PermanentError, RetryableError } from '../../model/index.js';

// The retry link of the sending chain (OTel exporterhelper `retry_sender`): exponential backoff
// with jitter, a server-supplied delay (429/503 Retry-After, carried as
// RetryableError.retryAfterMs) honoured as a floor, permanent errors never retried, and a bound
// on the total time. Past that bound the last error is rethrown as retryable: the export stage
// then fails the consumed batch, the queue transport retries it in place and the offsets stay
// uncommitted, so an outage stalls consumption instead of dropping data.

export interface RetrySettings {
  /** false: one attempt only */
  enabled: boolean;
  initialIntervalMs: number;
  maxIntervalMs: number;
  multiplier: number;
  /** 0..1: each wait is drawn from interval × [1 - f, 1 + f] */
  randomizationFactor: number;
  /** total time budget for one chain of attempts, 0 = unbounded */
  maxElapsedMs: number;
}

export const DEFAULT_RETRY: RetrySettings = {
  enabled: true,
  initialIntervalMs: 500,
  maxIntervalMs: 30_000,
  multiplier: 1.5,
  randomizationFactor: 0.5,
  maxElapsedMs: 5 * 60_000,
};

export interface RetryHooks {
  /** called before each wait, with the error that caused it */
  onRetry?: (err: RetryableError, waitMs: number, attempt: number) => void;
  /** aborts waiting (shutdown); the last error is then rethrown */
  signal?: AbortSignal;
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
}

/** The wait before retry number `attempt` (0-based), without a server delay. */
export function backoffInterval(s: RetrySettings, attempt: number, random = Math.random): number {
  const base = Math.min(s.maxIntervalMs, s.initialIntervalMs * s.multiplier ** attempt);
  const delta = s.randomizationFactor * base;
  return Math.max(0, Math.round(base - delta + random() * 2 * delta));
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Classifies anything thrown by an attempt: PermanentError stays, the rest is retryable. */
export function asRetryable(err: unknown): RetryableError | PermanentError {
  if (err instanceof PermanentError || err instanceof RetryableError) return err;
  return new RetryableError((err as Error)?.message ?? String(err), undefined, { cause: err });
}

/**
 * Calls `attempt` until it resolves, a PermanentError is thrown, or the next wait would pass
 * `maxElapsedMs` (then the last RetryableError is rethrown, its retryAfterMs kept so the caller
 * can keep honouring the server).
 */
export async function retrying<T>(
  settings: RetrySettings,
  attempt: (n: number) => Promise<T>,
  hooks: RetryHooks = {},
): Promise<T> {
  const now = hooks.now ?? Date.now;
  const wait = hooks.sleep ?? sleep;
  const started = now();
  for (let n = 0; ; n++) {
    let err: RetryableError | PermanentError;
    try {
      return await attempt(n);
    } catch (e) {
      err = asRetryable(e);
    }
    if (err instanceof PermanentError || !settings.enabled) throw err;
    let delay = backoffInterval(settings, n, hooks.random);
    if (err.retryAfterMs !== undefined) delay = Math.max(delay, err.retryAfterMs);
    if (settings.maxElapsedMs > 0 && now() - started + delay > settings.maxElapsedMs) {
      throw new RetryableError(
        `giving up after ${n + 1} attempts in ${now() - started} ms: ${err.message}`,
        err.retryAfterMs,
        { cause: err },
      );
    }
    if (hooks.signal?.aborted) throw err;
    hooks.onRetry?.(err, delay, n);
    await wait(delay, hooks.signal);
    if (hooks.signal?.aborted) throw err;
  }
}
