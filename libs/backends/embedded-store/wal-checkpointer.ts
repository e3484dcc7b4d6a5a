import type Database from 'better-sqlite3';
import { Worker } from 'node:worker_threads';

// SQLite checkpoints a WAL database from inside the commit that takes the WAL past
// `wal_autocheckpoint` pages (1,000 = 4 MB): that commit then copies the frames into the
// database file and fsyncs it, on the writer's thread. For the embedded store that thread is the
// event loop: with JFR series (~330 KB of blob per upload) one transaction in ten held it for
// 40-80 ms of I/O wait, and the store spent about twice the CPU on its transactions. The
// checkpointer turns that off and checkpoints from a worker thread with its own connection.
// Should the worker fail, the writer checkpoints itself again (nothing is lost either way: the
// WAL holds every commit until it is checkpointed).

/** Bytes above which the WAL file is truncated after a checkpoint has reset it. */
const WAL_SIZE_LIMIT = 64 * 1024 * 1024;

export class WalCheckpointer {
  private readonly worker: Worker;
  private stopped = false;

  constructor(
    private readonly db: Database.Database,
    path: string,
    intervalMs: number,
  ) {
    db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT}`);
    db.pragma('wal_autocheckpoint = 0');
    this.worker = new Worker(new URL('./wal-checkpointer.worker.js', import.meta.url), {
      workerData: { path, intervalMs },
    });
    // never what keeps a process alive
    this.worker.unref();
    this.worker.on('error', () => this.fallBack());
    this.worker.on('exit', () => this.fallBack());
  }

  /** Stops the worker (its connection closed) before the writer closes the database. */
  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // held while it finishes its round and closes its connection (at most 2 s, then terminated)
    this.worker.ref();
    let timer: NodeJS.Timeout | undefined;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, 2000)));
    this.worker.postMessage('close');
    await Promise.race([exited, timeout]);
    clearTimeout(timer);
    await this.worker.terminate();
  }

  private fallBack(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.db.open) this.db.pragma('wal_autocheckpoint = 1000');
  }
}
