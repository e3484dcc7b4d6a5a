import { PermanentError, RetryableError } from '../../model/index.js';
import type { NormalizedSeries } from '../../queue/index.js';
import type { SendTarget } from '../backend.port.js';
import { Batcher, DEFAULT_BATCH, type BatchSettings } from './batcher.js';
import { DEFAULT_RETRY, retrying, type RetrySettings } from './retry.js';
import { withTimeout } from './timeout.js';

// One backend's sending chain, as OTel's exporterhelper composes it:
//   batcher (per tenant; callers wait for their items) → ingestion-window filter → retry
//   (backoff + jitter, Retry-After) → timeout (AbortSignal per attempt) → backend.send.
// The result is one outcome per series: sent, or rejected for good (the export stage
// dead-letters those). A chain that stays retryable past the retry budget fails every caller
// of the chunk with RetryableError.
//
// A Push request is all-or-nothing at Pyroscope, so one bad series would sink its neighbours:
// when a multi-series chunk is rejected permanently, the chain resends its series one by one to
// find the culprits, and only those are dead-lettered.

export interface SendingSettings {
  /** per attempt; 0 = none */
  timeoutMs: number;
  retry: RetrySettings;
  batch: BatchSettings;
  /**
   * The backend rejects profiles older than this (Pyroscope's validation.reject-older-than,
   * 1 h by default); such series are dead-lettered instead of being sent. 0 = no window.
   */
  rejectOlderThanMs: number;
}

/** What a backend (or its config) may override; the rest comes from DEFAULT_SENDING. */
export type SendingOverrides = Partial<Omit<SendingSettings, 'retry' | 'batch'>> & {
  retry?: Partial<RetrySettings>;
  batch?: Partial<BatchSettings>;
};

export const DEFAULT_SENDING: SendingSettings = {
  timeoutMs: 30_000,
  retry: DEFAULT_RETRY,
  batch: DEFAULT_BATCH,
  rejectOlderThanMs: 0,
};

export type SeriesOutcome =
  { kind: 'sent' } | { kind: 'rejected'; reason: string; message: string };

/** What the chain needs of an item: its tenant (batches never mix tenants) and start time. */
export interface Sendable {
  tenant: string;
  /** ms since epoch; 0 or absent = unknown (never outside the ingestion window) */
  startMs?: number;
}

export interface SendingHooks<T extends Sendable = NormalizedSeries> {
  activeContributors?: () => number;
  onRetry?: (err: RetryableError, waitMs: number) => void;
  now?: () => number;
  /** aborts retries' waits and in-flight attempts (shutdown) */
  signal?: AbortSignal;
  /**
   * Called with the series of each acknowledged chunk before its callers hear of it: the
   * exporter records them as delivered right away, so a crash later in the same consumed batch
   * does not resend them. Must not throw (a failure here cannot undo the delivery).
   */
  onDelivered?: (series: T[]) => Promise<void>;
}

export function resolveSending(partial: SendingOverrides | undefined): SendingSettings {
  return {
    ...DEFAULT_SENDING,
    ...partial,
    retry: { ...DEFAULT_SENDING.retry, ...partial?.retry },
    batch: { ...DEFAULT_SENDING.batch, ...partial?.batch },
  };
}

/** Bytes an item weighs in a batch: the target's own measure, else a series' pprof. */
function defaultSizeOf(item: Sendable): number {
  return ((item as Partial<NormalizedSeries>).pprof?.length ?? 0) + 256;
}

/**
 * Generic over what is sent: normalised series to profile backends (the default), OTLP batches
 * to OTLP receivers (libs/backends/otlp). Items must carry their tenant and start time.
 */
export class SendingChain<T extends Sendable = NormalizedSeries> {
  readonly settings: SendingSettings;
  private readonly batcher: Batcher<T, SeriesOutcome>;
  private readonly now: () => number;

  constructor(
    readonly backend: SendTarget<T>,
    private readonly hooks: SendingHooks<T> = {},
  ) {
    this.settings = resolveSending(backend.sending);
    this.now = hooks.now ?? Date.now;
    this.batcher = new Batcher({
      settings: this.settings.batch,
      keyOf: (s) => s.tenant,
      sizeOf: (s) => backend.sizeOf?.(s) ?? defaultSizeOf(s),
      flush: (_tenant, items) => this.flush(items),
      activeContributors: hooks.activeContributors,
    });
  }

  /** Whether a series is already outside the backend's ingestion window. */
  expired(s: T, now = this.now()): boolean {
    const w = this.settings.rejectOlderThanMs;
    const start = s.startMs ?? 0;
    return w > 0 && start > 0 && start < now - w;
  }

  /** Sends series (batched with other callers'); one outcome per series, in order. */
  send(series: readonly T[]): Promise<SeriesOutcome[]> {
    return this.batcher.add(series);
  }

  get bytesInFlight(): number {
    return this.batcher.bytesInFlight;
  }

  /** Flushes what is pending and waits for it. Safe twice. */
  close(): Promise<void> {
    return this.batcher.close();
  }

  private async flush(items: T[]): Promise<SeriesOutcome[]> {
    const out = new Array<SeriesOutcome | undefined>(items.length);
    const windowOutcome = (): SeriesOutcome => ({
      kind: 'rejected',
      reason: 'not_in_ingestion_window',
      message: `${this.backend.name}: profile is older than the backend's ingestion window (${this.settings.rejectOlderThanMs} ms)`,
    });
    try {
      await retrying(
        this.settings.retry,
        async () => {
          // re-checked on every attempt: a long outage can age series out of the window
          const now = this.now();
          const live: T[] = [];
          items.forEach((s, i) => {
            if (out[i] === undefined && this.expired(s, now)) out[i] = windowOutcome();
            if (out[i] === undefined) live.push(s);
          });
          if (live.length > 0) await this.attempt(live);
        },
        { onRetry: this.hooks.onRetry, signal: this.hooks.signal, now: this.now },
      );
      const result = items.map((_, i): SeriesOutcome => out[i] ?? { kind: 'sent' });
      await this.hooks.onDelivered?.(items.filter((_, i) => result[i].kind === 'sent'));
      return result;
    } catch (err) {
      if (!(err instanceof PermanentError)) throw err;
      const pending = items.map((_, i) => i).filter((i) => out[i] === undefined);
      if (pending.length === 1) {
        out[pending[0]] = rejected(err, this.backend.name);
      } else {
        // isolate the series the backend refuses; their neighbours still go through
        for (const i of pending) out[i] = (await this.flush([items[i]]))[0];
      }
      return items.map((_, i) => out[i] ?? { kind: 'sent' });
    }
  }

  private attempt(series: T[]): Promise<void> {
    return withTimeout(
      this.settings.timeoutMs,
      (signal) => this.backend.send(series, { signal }),
      this.hooks.signal,
    );
  }
}

function rejected(err: PermanentError, backend: string): SeriesOutcome {
  return { kind: 'rejected', reason: err.reason, message: `${backend}: ${err.message}` };
}
