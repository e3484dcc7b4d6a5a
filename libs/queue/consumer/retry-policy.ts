import { PermanentError, RetryableError, backoffMs } from '../../model/index.js';
import type { RetryPolicy } from '../queue.port.js';

// How a consumed message's failures are treated, as data (limits as data, after Loki's and
// Pyroscope's runtime limits). The defaults favour delivery over speed of dead-lettering: a
// message is dead-lettered for a transient-looking error only after it kept failing for an hour
// and at least five attempts, long enough to ride out a backend or broker outage, short enough
// that a message which can never pass does not hold its partition for a day.

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  isolateAfter: 2,
  budgetMs: 3_600_000,
  minAttempts: 5,
  backoffBaseMs: 200,
  backoffMaxMs: 30_000,
};

export function retryPolicy(overrides: Partial<RetryPolicy> | undefined): RetryPolicy {
  return { ...DEFAULT_RETRY_POLICY, ...(overrides ?? {}) };
}

/** The wait before attempt `attempt + 1`: the dependency's Retry-After when it gave one. */
export function retryDelayMs(err: unknown, attempt: number, policy: RetryPolicy): number {
  if (err instanceof RetryableError && err.retryAfterMs !== undefined) {
    return Math.min(Math.max(0, err.retryAfterMs), policy.backoffMaxMs);
  }
  return backoffMs(attempt, policy.backoffBaseMs, policy.backoffMaxMs);
}

/** A message's failure record while it is being retried. */
export interface FailureRecord {
  firstFailedAt: number;
  attempts: number;
  lastError: string;
}

/** Whether a message that failed like this must now be dead-lettered instead of retried. */
export function exhausted(f: FailureRecord, policy: RetryPolicy, now: number): boolean {
  return f.attempts >= policy.minAttempts && now - f.firstFailedAt >= policy.budgetMs;
}

/** The dead-letter reason of a failure: the permanent error's own, or the budget's. */
export function deadLetterReason(err: unknown): string {
  return err instanceof PermanentError ? err.reason : 'retry_budget_exhausted';
}

export function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
