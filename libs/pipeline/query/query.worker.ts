// Worker-thread entry of the query executor (query-executor.ts): one read-only connection to
// the embedded store per worker, opened on the first query, and the query controller's own
// method table, so a query answers the same on a worker as inline.
import 'reflect-metadata';
import { workerData } from 'node:worker_threads';
import { EmbeddedStore } from '../../backends/embedded-store/embedded-store.js';
import { reportWorkerHeap } from '../core/worker-heap.js';
import type { TenantResolver } from '../tenancy/tenant-resolver.js';
import type { QueryAnswer, QueryTask, QueryWorkerData } from './query-executor.js';
import { QueryController } from './query.controller.js';

let store: EmbeddedStore | undefined;
let controller: QueryController | undefined;

export default function queryInWorker(task: QueryTask): QueryAnswer {
  const { databasePath } = workerData as QueryWorkerData;
  store ??= new EmbeddedStore({
    dataDir: databasePath,
    retentionMs: 0,
    maxBytes: 0,
    readOnly: true,
  });
  // the tenant was resolved (and authenticated) by the process that took the request
  controller ??= new QueryController(store, null as unknown as TenantResolver, null);
  const answer = controller.execute(store, task);
  reportWorkerHeap('query'); // with the answer still held: near the query's peak
  return answer;
}

/** The pool's first task: its answer means this module and its imports are instantiated. */
export function loaded(): true {
  return true;
}
