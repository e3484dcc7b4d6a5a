import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { runDecodeTask, type DecodeTask, type DecodeTaskResult } from './decode-task.js';

// Keeps CPU-heavy decoding off the event loop. An upload whose body is at least
// `thresholdBytes` is decoded in a worker thread; smaller ones inline, where a thread hop would
// cost more than the work (a 20 KB gzip pprof decodes in ~1 ms; a 250 KB JFR in ~10-20 ms, long
// enough to stall heartbeats and HTTP answers of an all-in-one process). Default threshold:
// 256 KiB of request body (EMBER_DECODE_WORKER_THRESHOLD). Workers: EMBER_DECODE_WORKERS,
// default one less than the cores (at least 1); 0 decodes everything inline.

/**
 * A decode allocates its whole output (a 12 MB JFR recording: ~38 MB allocated, ~23 MB kept), and
 * with V8's default young generation most of it is copied by several scavenges before promotion.
 * A 64 MiB young generation for the decode workers took goland-multichunk.jfr from 114-122 to
 * 95 ms per decode in a worker (median of 21 after 20 warm-ups; 96 and 128 MiB gained nothing
 * more). It is committed only as the decodes use it.
 */
const WORKER_YOUNG_GENERATION_MB = 64;

export interface DecodePoolOptions {
  workers: number;
  thresholdBytes: number;
}

export class DecodePool {
  private readonly pool: Piscina | undefined;

  constructor(private readonly options: DecodePoolOptions) {
    if (options.workers > 0) {
      this.pool = new Piscina({
        filename: new URL('./decode.worker.js', import.meta.url).href,
        minThreads: 1,
        maxThreads: options.workers,
        idleTimeout: 60_000,
        resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
      });
    }
  }

  static defaultWorkers(): number {
    return Math.max(1, availableParallelism() - 1);
  }

  /** Whether a task of this body size goes to a worker. */
  offloads(bodyBytes: number): boolean {
    return this.pool !== undefined && bodyBytes >= this.options.thresholdBytes;
  }

  async run(task: DecodeTask): Promise<DecodeTaskResult> {
    if (!this.pool || !this.offloads(task.upload.body.length)) return runDecodeTask(task);
    // The consumed buffer may be a view into a larger pooled allocation: copy before transferring.
    const body = new Uint8Array(task.upload.body.length);
    body.set(task.upload.body);
    return (await this.pool.run(
      { ...task, upload: { ...task.upload, body } },
      { transferList: [body.buffer] },
    )) as DecodeTaskResult;
  }

  async close(): Promise<void> {
    await this.pool?.destroy();
  }
}
