import { Piscina } from 'piscina';
import type { Registry } from 'prom-client';
import { destroyWhenLoaded, whenLoaded } from '../core/worker-pool-lifecycle.js';
import { registerWorkerHeapMetrics, trackWorkerHeaps } from '../core/worker-heap.js';

// Where queries run: on worker threads (EMBER_QUERY_WORKERS, default 1), each with its own
// read-only connection to the embedded store's SQLite file (WAL: readers never block the
// exporter's writes), so no query, however large its time range or however hostile its
// selector, holds up ingest, export or /healthz of the process that hosts the store. Each query
// has a time budget (EMBER_QUERY_TIMEOUT, from the moment it is asked, waiting included): past
// it the worker running it is terminated (a synchronous merge cannot be interrupted any other
// way; piscina starts a fresh one) and the client gets 503 `deadline_exceeded` with
// Retry-After. Queries past EMBER_QUERY_MAX_QUEUED waiting get 503 `unavailable` at once; a query
// whose worker runs out of its heap (EMBER_QUERY_MEMORY_MB) gets 422 `resource_exhausted`.
//
// EMBER_QUERY_WORKERS=0 runs queries inline on the event loop, with no budget: for embedding and
// single-user setups only.

export type Encoding = 'proto' | 'json';

/**
 * How long a query worker outlives its last query. None is kept alive without queries: a worker
 * keeps the heap its largest merge committed (tens of MB, up to EMBER_QUERY_MEMORY_MB) and its
 * SQLite connection, and the process holds that as RSS between queries, at the ingest peak too.
 * Starting one again costs about 0.1 s of CPU on the next query (module load, read-only open).
 * A dashboard refreshing more often than this keeps its worker.
 */
export const QUERY_WORKER_IDLE_MS = 10_000;

/**
 * The query worker's young generation. V8 sizes a worker's like the main thread's (up to 16 MiB
 * semi-spaces, 48 MiB in all), and under ingest load the worker a dashboard keeps alive committed
 * 57-65 MB, most of it that young generation, on top of the process's peak. A merge keeps what it
 * builds (typed arrays of the call tree, promoted whatever the size), so a smaller one costs
 * little: 16 MiB took the worker to 43 MB committed under the same load; the merge of 360 CPU
 * profiles went from 46-51 to 53-54 ms of CPU and the production-shaped merge (12 x 12,000
 * stacks) stayed at 597-615 ms (`node --max-semi-space-size=5 dist/bench/query-merge.js`,
 * alternating with the default).
 */
export const QUERY_WORKER_YOUNG_GENERATION_MB = 16;

/** One query as the worker takes it: plain data (structured-cloned to the worker). */
export interface QueryTask {
  method: string;
  tenant: string;
  encoding: Encoding;
  contentEncoding?: string;
  body: Uint8Array;
  /** the client sent `allow-utf8-labelnames=true` in Accept (client-capabilities.ts) */
  utf8LabelNames?: boolean;
}

export interface QueryAnswer {
  status: number;
  contentType: string;
  headers?: Record<string, string>;
  body: Uint8Array;
}

export interface QueryExecutorOptions {
  /** the embedded store's SQLite file, opened read-only by each worker */
  databasePath: string;
  workers: number;
  timeoutMs: number;
  maxQueued: number;
  memoryMb: number;
  /** how long a worker outlives its last query, ms (default QUERY_WORKER_IDLE_MS) */
  idleMs?: number;
  /** where the workers' heaps are exported (emberflow_worker_heap_bytes{pool="query"}) */
  registry?: Registry;
}

export interface QueryWorkerData {
  databasePath: string;
}

function connectError(status: number, code: string, message: string, headers = {}): QueryAnswer {
  return {
    status,
    contentType: 'application/json',
    headers,
    body: Buffer.from(JSON.stringify({ code, message })),
  };
}

export class QueryExecutor {
  private readonly pool: Piscina;
  private closed = false;
  /** queries running or waiting for a worker */
  private inFlight = 0;

  constructor(private readonly options: QueryExecutorOptions) {
    this.pool = new Piscina({
      filename: new URL('./query.worker.js', import.meta.url).href,
      workerData: { databasePath: options.databasePath } satisfies QueryWorkerData,
      minThreads: 0,
      maxThreads: Math.max(1, options.workers),
      idleTimeout: options.idleMs ?? QUERY_WORKER_IDLE_MS,
      resourceLimits: {
        maxOldGenerationSizeMb: options.memoryMb,
        maxYoungGenerationSizeMb: QUERY_WORKER_YOUNG_GENERATION_MB,
      },
    });
    // a terminated worker's error surfaces on its task; nothing to do here but not crash
    this.pool.on('error', () => {});
    this.forgetHeaps = trackWorkerHeaps(this.pool);
    if (options.registry) registerWorkerHeapMetrics(options.registry);
    this.loaded = whenLoaded(this.pool);
  }

  /** the first worker's module is instantiated (worker-pool-lifecycle.ts) */
  private readonly loaded: Promise<unknown>;
  /** drops this pool's workers from emberflow_worker_heap_bytes (worker-heap.ts) */
  private readonly forgetHeaps: () => void;

  /** worker threads alive now (started by a query, gone once idle for idleMs) */
  get workers(): number {
    return this.pool.threads.length;
  }

  /** Runs a query within its budget; resolves with an answer, never rejects. */
  async run(task: QueryTask): Promise<QueryAnswer> {
    if (this.closed)
      return connectError(503, 'unavailable', 'the query executor is shutting down', {
        'retry-after': '5',
      });
    const { timeoutMs, maxQueued, memoryMb, workers } = this.options;
    if (this.inFlight >= Math.max(1, workers) + maxQueued) {
      return connectError(
        503,
        'unavailable',
        `too many queries are waiting (${maxQueued}, EMBER_QUERY_MAX_QUEUED): retry later`,
        { 'retry-after': '2' },
      );
    }
    const signal = AbortSignal.timeout(timeoutMs);
    this.inFlight++;
    try {
      return (await this.pool.run(task, { signal })) as QueryAnswer;
    } catch (err) {
      const e = err as Error & { code?: string };
      if (signal.aborted || e.name === 'AbortError') {
        return connectError(
          503,
          'deadline_exceeded',
          `the query exceeded its time budget of ${timeoutMs} ms (EMBER_QUERY_TIMEOUT) and was cancelled: narrow the time range or the label selector`,
          { 'retry-after': '10' },
        );
      }
      if (e.code === 'ERR_WORKER_OUT_OF_MEMORY') {
        return connectError(
          422,
          'resource_exhausted',
          `the query needs more than ${memoryMb} MiB (EMBER_QUERY_MEMORY_MB): narrow the time range or the label selector`,
        );
      }
      return connectError(
        503,
        'unavailable',
        `the query worker failed: ${e.message}; retry later`,
        {
          'retry-after': '5',
        },
      );
    } finally {
      this.inFlight--;
      if (this.inFlight === 0) this.drained?.();
    }
  }

  /** resolves close()'s wait for the queries in flight */
  private drained: (() => void) | undefined;

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // With no worker kept idle, a query in flight may be on a worker still loading its module,
    // and terminating that aborts the process (worker-pool-lifecycle.ts): let the queries in
    // flight finish first, for as long as a worker takes to load at most.
    if (this.inFlight > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((r) => (this.drained = r)),
        new Promise((r) => (timer = setTimeout(r, 10_000))),
      ]);
      clearTimeout(timer);
    }
    await destroyWhenLoaded(this.pool, this.loaded);
    this.forgetHeaps();
  }
}
