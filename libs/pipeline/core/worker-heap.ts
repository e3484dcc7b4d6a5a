import { BroadcastChannel, resourceLimits, threadId } from 'node:worker_threads';
import { getHeapStatistics } from 'node:v8';
import { Gauge, type Registry } from 'prom-client';

// The heaps of the worker threads (decode pool, query workers) as metrics. A worker's isolate is
// invisible to the main thread's heap metrics (emberflow_nodejs_heap_*), yet under load it holds
// a third or more of the process's RSS, and its bound (EMBER_DECODE_WORKER_MEMORY_MB,
// EMBER_QUERY_MEMORY_MB) is what a capacity plan sizes. A piscina worker blocks between tasks, so
// it cannot be sampled on a timer: each worker reports its heap after every task it ran, on a
// broadcast channel (posting needs no turn of the worker's event loop), and the main thread keeps
// the last report of every live worker. The figures are therefore those of the last task's end:
// `committed` is what the worker's heap holds of RSS (V8 returns it only slowly), `used` the live
// part, `limit` the bound the pool set.

const CHANNEL = 'emberflow:worker-heap';

export type WorkerPoolName = 'decode' | 'query';

interface HeapReport {
  pool: WorkerPoolName;
  threadId: number;
  used: number;
  committed: number;
  limit: number;
}

let sender: BroadcastChannel | undefined;

/** In a worker: publishes this isolate's heap. Cheap (one stats call and one small message). */
export function reportWorkerHeap(pool: WorkerPoolName): void {
  const h = getHeapStatistics();
  sender ??= new BroadcastChannel(CHANNEL);
  const report: HeapReport = {
    pool,
    threadId,
    used: h.used_heap_size,
    committed: h.total_physical_size,
    limit: limitBytes(h.heap_size_limit),
  };
  sender.postMessage(report);
}

/**
 * The bound the pool set (old plus young generation). V8's heap_size_limit inside a worker
 * reports the process's default, not the worker's resourceLimits, which Node enforces itself.
 */
function limitBytes(v8Limit: number): number {
  const old = resourceLimits.maxOldGenerationSizeMb ?? 0;
  if (old <= 0) return v8Limit;
  return (old + (resourceLimits.maxYoungGenerationSizeMb ?? 0)) * 1024 * 1024;
}

/** Main thread: the last report of each live worker, by thread id. */
class WorkerHeaps {
  private readonly last = new Map<number, HeapReport>();
  private channel: BroadcastChannel | undefined;

  listen(): void {
    if (this.channel) return;
    this.channel = new BroadcastChannel(CHANNEL);
    this.channel.onmessage = (e: unknown) => {
      const r = (e as { data: HeapReport }).data;
      this.last.set(r.threadId, r);
    };
    // the metrics must never keep a stopping process alive
    this.channel.unref();
  }

  /** A worker exited (piscina's workerDestroy): its heap is gone with it. */
  forget(id: number): void {
    this.last.delete(id);
  }

  sum(pool: WorkerPoolName, key: 'used' | 'committed' | 'limit'): number {
    let total = 0;
    for (const r of this.last.values()) if (r.pool === pool) total += r[key];
    return total;
  }
}

const workerHeaps = new WorkerHeaps();

/** What piscina's workerCreate/workerDestroy events carry: `id` is the worker's threadId. */
interface PoolWorker {
  id: number;
}
interface PoolEvents {
  on(event: 'workerCreate' | 'workerDestroy', listener: (w: PoolWorker) => void): unknown;
}

/**
 * Follows a pool's workers so the gauge counts only live ones. Returns what its close() calls:
 * piscina's destroy() ends the workers without a workerDestroy event.
 */
export function trackWorkerHeaps(pool: PoolEvents): () => void {
  const ids = new Set<number>();
  pool.on('workerCreate', (w) => ids.add(w.id));
  pool.on('workerDestroy', (w) => {
    ids.delete(w.id);
    workerHeaps.forget(w.id);
  });
  return () => {
    for (const id of ids) workerHeaps.forget(id);
    ids.clear();
  };
}

const registered = new WeakSet<Registry>();

/**
 * Registers emberflow_worker_heap_bytes{pool,kind} on a process's registry (once per registry,
 * whichever pool asks first) and starts listening for the workers' reports.
 */
export function registerWorkerHeapMetrics(registry: Registry): void {
  workerHeaps.listen();
  if (registered.has(registry)) return;
  registered.add(registry);
  const gauge: Gauge<'pool' | 'kind'> = new Gauge({
    name: 'emberflow_worker_heap_bytes',
    help: 'Heap of the worker threads of each pool, summed over its live workers, as of their last task: kind=used (live objects), committed (held of RSS), limit (the bound each worker runs under).',
    labelNames: ['pool', 'kind'] as const,
    registers: [registry],
    collect: () => {
      for (const pool of ['decode', 'query'] as const)
        for (const kind of ['used', 'committed', 'limit'] as const)
          gauge.set({ pool, kind }, workerHeaps.sum(pool, kind));
    },
  });
}
