import type { Piscina } from 'piscina';

// Terminating a worker thread while its ES module graph is still being instantiated aborts the
// whole process on Node 20 (`FATAL ERROR: v8::Module::IsGraphAsync ... must be used on an
// instantiated module`): a process or test app stopped right after it started did so now and
// then. Pools therefore run a first task, the worker module's `loaded` export, at start, and are
// destroyed only once it answered (or after a bound, should a worker never come up).

const LOAD_WAIT_MS = 10_000;

/** Starts the first worker's module load; the promise never rejects. */
export function whenLoaded(pool: Piscina): Promise<unknown> {
  return pool.run(null, { name: 'loaded' }).catch(() => false);
}

/** Destroys the pool once `loaded` settled, or after LOAD_WAIT_MS. Safe to call once. */
export async function destroyWhenLoaded(pool: Piscina, loaded: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([loaded, new Promise((r) => (timer = setTimeout(r, LOAD_WAIT_MS)))]);
  clearTimeout(timer);
  await pool.destroy();
}
