import { RetryableError } from '../../model/index.js';

// The batching link of the sending chain (OTel exporterhelper `queuebatch` with
// `wait_for_result`): items are grouped by a key (the tenant: one Push request carries one
// X-Scope-OrgID), cut into chunks of at most `maxItems` items and `maxBytes` bytes, and handed to
// `flush`. Whoever added items waits for the outcome of every one of them, so the export stage
// commits its Kafka offsets only after the series it contributed were acknowledged.
//
// Lingering: a partial chunk waits at most `flushIntervalMs` for more items, and not at all
// once every active contributor is waiting on it (`activeContributors()`): nobody else could
// add anything, so waiting would only add latency. With one partition consumed at a time this
// means "send per consumed batch"; with several consumers in a process it merges their batches.
//
// Back-pressure: at most `maxInFlightBytes` are being flushed at once (a single larger chunk is
// let through alone so it cannot deadlock); beyond that, flushes queue and their contributors
// keep waiting, which holds the consumer.

export interface BatchSettings {
  maxItems: number;
  maxBytes: number;
  flushIntervalMs: number;
  maxInFlightBytes: number;
}

export const DEFAULT_BATCH: BatchSettings = {
  maxItems: 500,
  maxBytes: 4 * 1024 * 1024,
  flushIntervalMs: 200,
  maxInFlightBytes: 64 * 1024 * 1024,
};

interface Contribution<R> {
  results: R[];
  remaining: number;
  settled: boolean;
  resolve(results: R[]): void;
  reject(err: unknown): void;
}

interface Entry<T, R> {
  item: T;
  bytes: number;
  owner: Contribution<R>;
  index: number;
}

interface Group<T, R> {
  entries: Entry<T, R>[];
  bytes: number;
  timer?: NodeJS.Timeout;
}

export interface BatcherOptions<T, R> {
  settings: BatchSettings;
  keyOf(item: T): string;
  sizeOf(item: T): number;
  /** sends one chunk; returns one result per item, in order; throws to fail the whole chunk */
  flush(key: string, items: T[]): Promise<R[]>;
  /** how many callers may add right now; 1 (no lingering) when absent */
  activeContributors?: () => number;
}

export class Batcher<T, R> {
  private readonly groups = new Map<string, Group<T, R>>();
  private readonly inFlight = new Set<Promise<void>>();
  private inFlightBytes = 0;
  private readonly budgetWaiters: (() => void)[] = [];
  private waitingContributors = 0;
  private closed = false;

  constructor(private readonly o: BatcherOptions<T, R>) {}

  /** bytes handed to `flush` and not finished yet */
  get bytesInFlight(): number {
    return this.inFlightBytes;
  }

  /**
   * Adds items; resolves with one result per item once all were flushed, or rejects with the
   * first failure of a chunk holding one of them. Owns nothing after it settles.
   */
  add(items: readonly T[]): Promise<R[]> {
    if (this.closed) return Promise.reject(new RetryableError('batcher is closed'));
    if (items.length === 0) return Promise.resolve([]);
    const done = new Promise<R[]>((resolve, reject) => {
      const owner: Contribution<R> = {
        results: new Array<R>(items.length),
        remaining: items.length,
        settled: false,
        resolve,
        reject,
      };
      items.forEach((item, index) => {
        const key = this.o.keyOf(item);
        let g = this.groups.get(key);
        if (!g) {
          g = { entries: [], bytes: 0 };
          this.groups.set(key, g);
        }
        const bytes = this.o.sizeOf(item);
        if (
          g.entries.length > 0 &&
          (g.entries.length + 1 > this.o.settings.maxItems ||
            g.bytes + bytes > this.o.settings.maxBytes)
        ) {
          this.cut(key, g);
        }
        g.entries.push({ item, bytes, owner, index });
        g.bytes += bytes;
        if (g.entries.length >= this.o.settings.maxItems || g.bytes >= this.o.settings.maxBytes) {
          this.cut(key, g);
        } else {
          g.timer ??= setTimeout(() => {
            const cur = this.groups.get(key);
            if (cur === g) this.cut(key, g);
          }, this.o.settings.flushIntervalMs);
        }
      });
    });
    this.waitingContributors++;
    const expected = this.o.activeContributors?.() ?? 1;
    if (this.waitingContributors >= expected) this.flushAll();
    return done.finally(() => this.waitingContributors--);
  }

  /** Flushes everything pending now (does not wait). */
  flushAll(): void {
    for (const [key, g] of this.groups) this.cut(key, g);
  }

  /** Stops accepting, flushes what is pending and waits for every flush. Safe twice. */
  async close(): Promise<void> {
    this.closed = true;
    this.flushAll();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private cut(key: string, g: Group<T, R>): void {
    if (g.timer) clearTimeout(g.timer);
    this.groups.delete(key);
    if (g.entries.length === 0) return;
    const run = this.run(key, g.entries, g.bytes);
    this.inFlight.add(run);
    void run.finally(() => this.inFlight.delete(run));
  }

  private async run(key: string, entries: Entry<T, R>[], bytes: number): Promise<void> {
    while (
      this.inFlightBytes > 0 &&
      this.inFlightBytes + bytes > this.o.settings.maxInFlightBytes
    ) {
      await new Promise<void>((r) => this.budgetWaiters.push(r));
    }
    this.inFlightBytes += bytes;
    try {
      const results = await this.o.flush(
        key,
        entries.map((e) => e.item),
      );
      entries.forEach((e, i) => {
        const c = e.owner;
        if (c.settled) return;
        c.results[e.index] = results[i];
        if (--c.remaining === 0) {
          c.settled = true;
          c.resolve(c.results);
        }
      });
    } catch (err) {
      for (const e of entries) {
        if (e.owner.settled) continue;
        e.owner.settled = true;
        e.owner.reject(err);
      }
    } finally {
      this.inFlightBytes -= bytes;
      this.budgetWaiters.splice(0).forEach((r) => r());
    }
  }
}
