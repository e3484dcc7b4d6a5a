import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { Registry } from 'prom-client';
import { destroyWhenLoaded, whenLoaded } from '../core/worker-pool-lifecycle.js';
import { registerWorkerHeapMetrics, trackWorkerHeaps } from '../core/worker-heap.js';
import { runDecodeTask, type DecodeTask, type DecodeTaskResult } from './decode-task.js';

// Keeps CPU-heavy decoding off the event loop. An upload whose body is at least
// `thresholdBytes` is decoded in a worker thread; smaller ones inline, one at a time with a turn
// of the event loop between them, so a wave of small uploads never holds the loop longer than
// one of them takes. Workers: EMBER_DECODE_WORKERS, default one less than the cores (at least 1);
// 0 decodes everything inline.
//
// The threshold (EMBER_DECODE_WORKER_THRESHOLD, default 64 KiB of request body) is where the hop
// stops mattering. Measured per task with the flat model (process CPU incl. the worker; median of
// 4 rounds, shared 2-core machine at load 20): the hop (copying the body in, moving the result's
// buffers out, cloning the rest) costs about 0.8 ms of CPU. An 18 KB pprof form decodes in
// 1.0-2.0 ms inline (worker: +40% CPU, so it stays inline); a 250 KB JFR form in 27-28 ms either
// way, but inline it holds the event loop for all of it (worker: 9 ms of loop time, mostly the
// clone); large.cpu (1.2 MB) 350 ms inline against 376 in a worker. Every upload a Java agent
// sends (JFR, 50-300 KB) therefore goes to a worker, every small pprof stays inline.

/**
 * A decode allocates its whole output (a 12 MB JFR recording: ~38 MB allocated, ~23 MB kept), and
 * with V8's default young generation most of it is copied by several scavenges before promotion.
 * A 64 MiB young generation for the decode workers took goland-multichunk.jfr from 114-122 to
 * 95 ms per decode in a worker (median of 21 after 20 warm-ups; 96 and 128 MiB gained nothing
 * more). It is committed only as the decodes use it.
 */
const WORKER_YOUNG_GENERATION_MB = 64;

/** Profiles one inline decode may hold the event loop for: ~85 µs each for a small pprof. */
const INLINE_MAX_PROFILES = 256;

export interface DecodePoolOptions {
  workers: number;
  thresholdBytes: number;
  /**
   * Old-generation heap of each worker, MiB (EMBER_DECODE_WORKER_MEMORY_MB). Without a bound a
   * worker's heap grew to what its largest decodes left behind (the decoder process of a load of
   * 1.5 MB, 12,000-stack uploads peaked at 860 MB RSS, 550 MB with decoding inline); with one, V8
   * collects before growing past it. A decode that cannot fit is refused for good (it would not
   * fit on a retry either) as profile_size_limit; replay it from the DLQ after raising the bound.
   */
  memoryMb?: number;
  /** where the workers' heaps are exported (emberflow_worker_heap_bytes{pool="decode"}) */
  registry?: Registry;
}

export class DecodePool {
  private readonly pool: Piscina | undefined;
  /** inline decodes run one after another, each after a turn of the event loop */
  private inline: Promise<unknown> = Promise.resolve();
  /** the first worker's module is instantiated (worker-pool-lifecycle.ts) */
  private readonly loaded: Promise<unknown> = Promise.resolve();
  /** drops this pool's workers from emberflow_worker_heap_bytes (worker-heap.ts) */
  private readonly forgetHeaps: () => void = () => {};

  constructor(private readonly options: DecodePoolOptions) {
    if (options.workers > 0) {
      this.pool = new Piscina({
        filename: new URL('./decode.worker.js', import.meta.url).href,
        minThreads: 1,
        maxThreads: options.workers,
        idleTimeout: 60_000,
        resourceLimits: {
          maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB,
          ...(options.memoryMb ? { maxOldGenerationSizeMb: options.memoryMb } : {}),
        },
      });
      this.forgetHeaps = trackWorkerHeaps(this.pool);
      if (options.registry) registerWorkerHeapMetrics(options.registry);
      this.loaded = whenLoaded(this.pool);
    }
  }

  static defaultWorkers(): number {
    return Math.max(1, availableParallelism() - 1);
  }

  /**
   * Whether a task goes to a worker: a body of at least the threshold, or more than
   * INLINE_MAX_PROFILES profiles however small (a 60 KB Push of 8,000 tiny profiles decodes for
   * about 700 ms).
   */
  offloads(bodyBytes: number, profiles = 1): boolean {
    return (
      this.pool !== undefined &&
      (bodyBytes >= this.options.thresholdBytes || profiles > INLINE_MAX_PROFILES)
    );
  }

  async run(task: DecodeTask): Promise<DecodeTaskResult> {
    if (!this.pool || !this.offloads(task.upload.body.length, task.upload.profiles)) {
      const run = this.inline.then(nextTurn).then(() => runDecodeTask(task));
      this.inline = run;
      return run;
    }
    // The consumed buffer may be a view into a larger pooled allocation: copy before transferring.
    const body = new Uint8Array(task.upload.body.length);
    body.set(task.upload.body);
    try {
      return (await this.pool.run(
        { ...task, upload: { ...task.upload, body } },
        { transferList: [body.buffer] },
      )) as DecodeTaskResult;
    } catch (err) {
      // piscina replaces the worker; any other worker failure stays transient (thrown)
      if ((err as { code?: string }).code !== 'ERR_WORKER_OUT_OF_MEMORY') throw err;
      return {
        error: {
          reason: 'profile_size_limit',
          message: `decoding this upload (${task.upload.body.length} bytes) needs more than the decode worker's ${this.options.memoryMb ?? 0} MiB of heap (EMBER_DECODE_WORKER_MEMORY_MB): raise it and replay the dead letter`,
          permanent: true,
        },
      };
    }
  }

  async close(): Promise<void> {
    if (!this.pool) return;
    await destroyWhenLoaded(this.pool, this.loaded);
    this.forgetHeaps();
  }
}

/** Resolves after pending I/O had its turn (setImmediate runs after the poll phase). */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
