// Worker-thread entry for large uploads (see decode-pool.ts). Piscina calls the default export
// with a DecodeTask. The result's typed arrays (the encoded pprofs, the store's compact forms
// and the flat profiles when the task asks for them) are moved to the main thread, not copied;
// the rest is structured-cloned.
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { flatTransferables } from '../../model/index.js';
import { reportWorkerHeap } from '../core/worker-heap.js';
import { runDecodeTask, type DecodeTask, type DecodeTaskResult } from './decode-task.js';

export default function decodeInWorker(task: DecodeTask): unknown {
  const result = runDecodeTask(task);
  reportWorkerHeap('decode'); // with the result still held: near the task's peak
  if ('error' in result) return result;
  const buffers = new Set<ArrayBuffer>();
  for (const s of result.series) {
    for (const p of s.parts) if (p.buffer instanceof ArrayBuffer) buffers.add(p.buffer);
    if (s.compact?.buffer instanceof ArrayBuffer) buffers.add(s.compact.buffer);
    if (s.profile) for (const b of flatTransferables(s.profile)) buffers.add(b);
  }
  return move(movable(result, [...buffers]));
}

function movable(value: DecodeTaskResult, transferList: ArrayBuffer[]) {
  return {
    get [transferableSymbol](): object {
      return transferList;
    },
    get [valueSymbol](): object {
      return value;
    },
  };
}

/** The pool's first task: its answer means this module and its imports are instantiated. */
export function loaded(): true {
  return true;
}
