import { isPermanent } from '../../model/index.js';
import { DLQ_HEADERS, toDeadLetter } from '../contracts/dead-letter.js';
import type {
  BatchHandler,
  IncomingMessage,
  MessageBatch,
  OutgoingMessage,
  RetryPolicy,
} from '../queue.port.js';
import type { ConsumerMonitor } from './consumer-monitor.js';
import {
  deadLetterReason,
  describeError,
  exhausted,
  retryDelayMs,
  type FailureRecord,
} from './retry-policy.js';

// One slice of one partition through the stage's handler, until every message in it is either
// done (the handler resolved) or dead-lettered, and committed. Shared by the Kafka broker and the
// in-process queue so both retry, isolate and dead-letter alike (queue.port.ts states the rules):
//
//   whole slice ──fails──▶ retry with backoff ──fails `isolateAfter` times, or permanently──▶
//   one message at a time ──permanent, or failing past the budget──▶ dead letter, commit, go on
//
// A slice never blocks another partition: each partition runs its own slices. Progress is
// committed message by message in isolation, so a restart resumes after the last good one.

export interface SliceDriver {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  readonly handler: BatchHandler;
  readonly policy: RetryPolicy;
  readonly deadLetterTopic: string | undefined;
  readonly monitor: ConsumerMonitor;
  /** per partition: offset → failures of the message at that offset while it is retried */
  readonly failures: Map<string, FailureRecord>;
  /** false once the partition is stopping or was taken away: stop without committing */
  isActive(): boolean;
  /** commits the offset after `lastOffset` (inclusive of it); throws when it cannot */
  commit(lastOffset: string): Promise<void>;
  publish(topic: string, messages: OutgoingMessage[]): Promise<void>;
  /** resolves after `ms`, or earlier when the partition stops */
  sleep(ms: number): Promise<void>;
  heartbeat(): Promise<void>;
  log(level: 'warn' | 'error', message: string): void;
  onRetry?(): void;
  onDeadLetter?(reason: string): void;
  now?(): number;
}

/** Resolves true when the slice is committed, false when the partition stopped first. */
export async function runSlice(messages: IncomingMessage[], d: SliceDriver): Promise<boolean> {
  if (messages.length === 0) return true;
  const now = d.now ?? Date.now;
  for (let attempt = 0; ; attempt++) {
    if (!d.isActive()) return false;
    let failure: unknown;
    try {
      await d.handler(batchOf(messages, d));
    } catch (err) {
      failure = err;
    }
    if (failure === undefined) {
      if (!d.isActive()) return false;
      await d.commit(messages[messages.length - 1].offset);
      for (const m of messages) d.failures.delete(m.offset);
      return true;
    }
    const error = describeError(failure);
    d.monitor.failed(d.group, d.topic, d.partition, error);
    const at = now();
    for (const m of messages) {
      const f = d.failures.get(m.offset);
      if (f) {
        f.attempts++;
        f.lastError = error;
      } else d.failures.set(m.offset, { firstFailedAt: at, attempts: 1, lastError: error });
    }
    if (messages.length > 1 && (isPermanent(failure) || attempt + 1 >= d.policy.isolateAfter)) {
      d.log(
        'warn',
        `${where(d)} offsets ${messages[0].offset}-${messages[messages.length - 1].offset} failed ${attempt + 1} times (${error}); retrying them one by one`,
      );
      for (const m of messages) {
        if (!(await runSlice([m], d))) return false;
      }
      return true;
    }
    if (messages.length === 1) {
      const m = messages[0];
      const f = d.failures.get(m.offset)!;
      if (isPermanent(failure) || exhausted(f, d.policy, at)) {
        if (await deadLetter(m, failure, f, d)) return true;
        return false;
      }
    }
    d.onRetry?.();
    const wait = retryDelayMs(failure, attempt, d.policy);
    d.log(
      'warn',
      `${where(d)} handler failed (attempt ${attempt + 1}), retrying in ${wait} ms: ${error}`,
    );
    await d.sleep(wait);
    await d.heartbeat().catch(() => {});
  }
}

/**
 * Publishes one message to the dead-letter topic and commits past it. A dead-letter publish
 * that fails (the broker is down) is retried like any other failure: the message is never
 * committed before its dead letter is written.
 */
async function deadLetter(
  m: IncomingMessage,
  failure: unknown,
  f: FailureRecord,
  d: SliceDriver,
): Promise<boolean> {
  const reason = deadLetterReason(failure);
  const detail = isPermanent(failure)
    ? describeError(failure)
    : `still failing after ${f.attempts} attempts over ${Math.round(((d.now ?? Date.now)() - f.firstFailedAt) / 1000)} s: ${f.lastError}`;
  if (!d.deadLetterTopic) {
    // No dead-letter topic: the subscription chose to hold the message rather than drop it.
    d.log('error', `${where(d)} offset ${m.offset} cannot be dead-lettered (no DLQ): ${detail}`);
    return false;
  }
  const letter = toDeadLetter(m, reason, detail);
  letter.headers[DLQ_HEADERS.attempts] = String(f.attempts);
  letter.headers[DLQ_HEADERS.firstFailedAt] = String(f.firstFailedAt);
  let stripped = false;
  for (let attempt = 0; d.isActive(); attempt++) {
    try {
      await d.publish(d.deadLetterTopic, [letter]);
      await d.commit(m.offset);
      d.failures.delete(m.offset);
      d.onDeadLetter?.(reason);
      d.log('warn', `${where(d)} offset ${m.offset} dead-lettered (${reason}): ${detail}`);
      return true;
    } catch (err) {
      if (isPermanent(err) && !stripped) {
        // The dead letter itself can never be written (larger than the DLQ's limit, say): keep
        // the reason and a short description, without the body, so the record of it survives.
        stripped = true;
        letter.value = Buffer.alloc(0);
        letter.headers = {
          ...pick(m.headers, ['ember-schema', 'ember-tenant', 'ember-upload-id']),
          [DLQ_HEADERS.reason]: reason,
          [DLQ_HEADERS.message]: `${detail.slice(0, 512)} (body of ${m.value.length} bytes dropped: ${describeError(err).slice(0, 256)})`,
          [DLQ_HEADERS.sourceTopic]: m.topic,
          [DLQ_HEADERS.sourceOffset]: `${m.partition}/${m.offset}`,
          [DLQ_HEADERS.failedAt]: String(Date.now()),
          [DLQ_HEADERS.attempts]: String(f.attempts),
        };
        continue;
      }
      if (isPermanent(err)) {
        // Not even a bodiless record fits: holding the partition for ever would be worse.
        d.log(
          'error',
          `${where(d)} offset ${m.offset} dropped: its dead letter cannot be written (${describeError(err)}); it failed with ${reason}: ${detail}`,
        );
        await d.commit(m.offset);
        d.failures.delete(m.offset);
        d.onDeadLetter?.('dead_letter_unwritable');
        return true;
      }
      const wait = retryDelayMs(err, attempt, d.policy);
      d.log('warn', `${where(d)} dead letter not written yet (${describeError(err)}), retrying`);
      await d.sleep(wait);
    }
  }
  return false;
}

function batchOf(messages: IncomingMessage[], d: SliceDriver): MessageBatch {
  return {
    topic: d.topic,
    partition: d.partition,
    messages,
    heartbeat: () => d.heartbeat(),
  };
}

function where(d: SliceDriver): string {
  return `${d.topic}[${d.partition}] (group ${d.group})`;
}

function pick(h: Record<string, string>, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of names) if (h[n] !== undefined) out[n] = h[n];
  return out;
}
