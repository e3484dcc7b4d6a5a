import { RetryableError } from '../../model/index.js';

// The timeout link of the sending chain (OTel exporterhelper `timeout_sender`): every attempt
// gets its own deadline as an AbortSignal, combined with the caller's signal (shutdown). An
// attempt that runs out of time is retryable: the backend may simply be slow.

export class AttemptTimeoutError extends RetryableError {
  constructor(readonly timeoutMs: number) {
    super(`attempt timed out after ${timeoutMs} ms`);
  }
}

/**
 * Runs `fn` with a signal that aborts after `timeoutMs` (or when `parent` aborts). `fn` must
 * stop its I/O when the signal aborts; a rejection caused by the deadline becomes an
 * AttemptTimeoutError whatever `fn` threw.
 */
export async function withTimeout<T>(
  timeoutMs: number,
  fn: (signal: AbortSignal) => Promise<T>,
  parent?: AbortSignal,
): Promise<T> {
  if (timeoutMs <= 0) return fn(parent ?? new AbortController().signal);
  // a referenced timer (AbortSignal.timeout's is unref'd: an attempt must not outlive it)
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new AttemptTimeoutError(timeoutMs)), timeoutMs);
  const signal = parent ? AbortSignal.any([deadline.signal, parent]) : deadline.signal;
  try {
    return await fn(signal);
  } catch (err) {
    if (deadline.signal.aborted && !(parent?.aborted ?? false)) {
      throw new AttemptTimeoutError(timeoutMs);
    }
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
