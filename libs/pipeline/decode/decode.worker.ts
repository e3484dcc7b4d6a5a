// Worker-thread entry for large uploads (see decode-pool.ts). Piscina calls the default export
// with a DecodeTask. The result is structured-cloned back (one copy of the encoded pprofs, small
// next to the decode itself).
import { runDecodeTask, type DecodeTask, type DecodeTaskResult } from './decode-task.js';

export default function decodeInWorker(task: DecodeTask): DecodeTaskResult {
  return runDecodeTask(task);
}
