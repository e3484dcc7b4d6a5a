import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EmbeddedStore } from '../../backends/index.js';
import { Registry } from 'prom-client';
import {
  QUERY_WORKER_YOUNG_GENERATION_MB,
  QueryExecutor,
  type QueryTask,
} from './query-executor.js';
import { CPU, cpuSeries } from './testing.js';

const T0 = Date.now() - 10 * 60_000;

function task(selector: string): QueryTask {
  return {
    method: 'SelectMergeStacktraces',
    tenant: 'anonymous',
    encoding: 'json',
    body: Buffer.from(
      JSON.stringify({
        profileTypeID: CPU,
        labelSelector: selector,
        start: String(T0 - 60_000),
        end: String(T0 + 60_000),
      }),
    ),
  };
}

const json = (b: Uint8Array) => JSON.parse(Buffer.from(b).toString()) as Record<string, unknown>;

describe('QueryExecutor (queries on worker threads with a time budget)', () => {
  let dir: string;
  let store: EmbeddedStore;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ember-qexec-'));
    store = new EmbeddedStore({ dataDir: dir, retentionMs: 86_400_000, maxBytes: 1 << 30 });
    await store.send([
      cpuSeries({
        labels: { service_name: 'api', k: `${'a'.repeat(29)}!` },
        stacks: [[['main', 'work'], 10]],
        atMs: T0,
      }),
      cpuSeries({
        labels: { service_name: 'api', k: 'aaaa' },
        stacks: [[['main', 'idle'], 5]],
        atMs: T0,
      }),
    ]);
  });
  after(async () => {
    await store.close();
  });

  it('keeps no worker idle: one starts for a query and exits idleMs after it (its heap is not held between queries)', async () => {
    const ex = new QueryExecutor({
      databasePath: dir,
      workers: 1,
      timeoutMs: 30_000,
      maxQueued: 4,
      memoryMb: 256,
      idleMs: 200,
    });
    const until = async (want: number): Promise<void> => {
      const deadline = Date.now() + 10_000;
      while (ex.workers !== want && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      assert.equal(ex.workers, want);
    };
    try {
      await until(0); // the first (module-load) task's worker is gone too
      const a = await ex.run(task('{service_name="api"}'));
      assert.equal(a.status, 200);
      await until(0);
      const b = await ex.run(task('{service_name="api"}'));
      assert.equal((json(b.body).flamegraph as { total: string }).total, '15');
    } finally {
      await ex.close();
    }
  });

  it("bounds the worker's heap: the old generation by memoryMb, the young one by QUERY_WORKER_YOUNG_GENERATION_MB", async () => {
    const registry = new Registry();
    const ex = new QueryExecutor({
      databasePath: dir,
      workers: 1,
      timeoutMs: 30_000,
      maxQueued: 4,
      memoryMb: 96,
      registry,
    });
    const heap = async (kind: string): Promise<number> => {
      const m = await registry.getSingleMetric('emberflow_worker_heap_bytes')!.get();
      return m.values.find((v) => v.labels.pool === 'query' && v.labels.kind === kind)?.value ?? 0;
    };
    try {
      assert.equal((await ex.run(task('{service_name="api"}'))).status, 200);
      // the worker reports its heap on a broadcast channel after the task: within a few turns
      let limit = 0;
      for (let i = 0; i < 100 && limit === 0; i++) {
        await new Promise((r) => setTimeout(r, 10));
        limit = await heap('limit');
      }
      assert.equal(limit, (96 + QUERY_WORKER_YOUNG_GENERATION_MB) * 1024 * 1024);
      assert.ok((await heap('committed')) > 0);
    } finally {
      await ex.close();
    }
  });

  it('answers on a worker what the store holds, hostile selector included (regression: (a+)+ blocked the process 23 s)', async () => {
    const ex = new QueryExecutor({
      databasePath: dir,
      workers: 1,
      timeoutMs: 30_000,
      maxQueued: 4,
      memoryMb: 256,
    });
    try {
      const all = await ex.run(task('{service_name="api"}'));
      assert.equal(all.status, 200);
      assert.equal((json(all.body).flamegraph as { total: string }).total, '15');
      const hostile = await ex.run(task('{k=~"(a+)+"}'));
      assert.equal(hostile.status, 200);
      assert.equal((json(hostile.body).flamegraph as { total: string }).total, '5');
      const bad = await ex.run(task('{k=~"a(?=b)"}'));
      assert.equal(bad.status, 400);
      assert.match(String(json(bad.body).message), /invalid or unsupported Perl syntax/);
    } finally {
      await ex.close();
    }
  });

  it('cancels a query past its time budget with 503 deadline_exceeded, then answers the next', async () => {
    const ex = new QueryExecutor({
      databasePath: dir,
      workers: 1,
      timeoutMs: 1,
      maxQueued: 4,
      memoryMb: 256,
    });
    try {
      const r = await ex.run(task('{}'));
      assert.equal(r.status, 503);
      assert.equal(r.headers?.['retry-after'], '10');
      assert.equal(json(r.body).code, 'deadline_exceeded');
      assert.match(String(json(r.body).message), /time budget of 1 ms \(EMBER_QUERY_TIMEOUT\)/);
    } finally {
      await ex.close();
    }
    const again = new QueryExecutor({
      databasePath: dir,
      workers: 1,
      timeoutMs: 30_000,
      maxQueued: 4,
      memoryMb: 256,
    });
    try {
      assert.equal((await again.run(task('{}'))).status, 200);
    } finally {
      await again.close();
    }
  });

  it('answers 503 at once when too many queries wait', async () => {
    const ex = new QueryExecutor({
      databasePath: dir,
      workers: 1,
      timeoutMs: 30_000,
      maxQueued: 1,
      memoryMb: 256,
    });
    try {
      const answers = await Promise.all(Array.from({ length: 8 }, () => ex.run(task('{}'))));
      const statuses = answers.map((a) => a.status);
      assert.ok(statuses.includes(200), String(statuses));
      const refused = answers.filter((a) => a.status === 503);
      assert.ok(refused.length > 0, String(statuses));
      for (const a of refused) assert.match(String(json(a.body).message), /EMBER_QUERY_MAX_QUEUED/);
    } finally {
      await ex.close();
    }
  });
});
