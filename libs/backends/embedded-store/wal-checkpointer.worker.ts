// Worker-thread entry of the store's WAL checkpointer (wal-checkpointer.ts). Its own connection
// copies committed WAL frames into the database file every `intervalMs`: PASSIVE, so it never
// waits for or blocks the writer, and the copy and its fsync happen on this thread instead of
// inside one of the writer's commits on the event loop.
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';

const { path, intervalMs } = workerData as { path: string; intervalMs: number };
const db = new Database(path, { fileMustExist: true });
db.pragma('busy_timeout = 1000');

const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // busy or I/O error: the next round tries again; the writer's WAL keeps every commit
  }
}, intervalMs);

parentPort?.on('message', (m) => {
  if (m !== 'close') return;
  clearInterval(timer);
  db.close();
  parentPort?.close();
});
