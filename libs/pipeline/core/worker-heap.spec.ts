import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { defaultLimits } from '../../decoders/index.js';
import { fixturePath } from '../../../test/support/paths.js';
import { DecodePool } from '../decode/decode-pool.js';
import type { DecodeTask } from '../decode/decode-task.js';

// Its own file (its own process): the gauge sums every live worker of a pool in the process.

function task(body: Buffer): DecodeTask {
  const now = String(BigInt(Date.now()) * 1_000_000n);
  return {
    upload: {
      uploadId: 'u1',
      tenant: 't',
      format: 'pprof',
      contentType: '',
      contentEncoding: '',
      params: {
        name: 'svc.cpu',
        appName: 'svc.cpu',
        labels: {},
        fromNanos: now,
        untilNanos: now,
        sampleRate: 100,
        spyName: 'gospy',
        units: 'samples',
        aggregationType: 'sum',
        formatParam: 'pprof',
      },
      receivedAtMs: Date.now(),
      body,
    },
    limits: defaultLimits,
    maxBodyBytes: 32 << 20,
    maxPartBytes: 4 << 20,
    rules: { globalTags: {}, relabel: [], sampleRelabel: [] },
  };
}

describe('worker heap metrics', () => {
  const registry = new Registry();
  const pool = new DecodePool({ workers: 1, thresholdBytes: 1024, memoryMb: 96, registry });
  // closed by the last test, which checks what closing does to the gauge

  const heap = async (kind: string): Promise<number> => {
    const m = await registry.getSingleMetric('emberflow_worker_heap_bytes')!.get();
    return m.values.find((v) => v.labels.pool === 'decode' && v.labels.kind === kind)?.value ?? 0;
  };

  it("exports the decode worker's heap after its tasks: used within committed, limit from EMBER_DECODE_WORKER_MEMORY_MB", async () => {
    const r = await pool.run(task(readFileSync(fixturePath('pyroscope', 'pprof', 'heap'))));
    assert.ok(!('error' in r));
    // the report travels on a broadcast channel: it lands within a few turns of the loop
    let used = 0;
    for (let i = 0; i < 100 && used === 0; i++) {
      await new Promise((res) => setTimeout(res, 10));
      used = await heap('used');
    }
    const committed = await heap('committed');
    const limit = await heap('limit');
    assert.ok(used > 1 << 20, `used ${used}`);
    assert.ok(committed >= used, `committed ${committed} < used ${used}`);
    // the old generation's bound plus the pool's 64 MiB young generation
    assert.equal(limit, (96 + 64) * 1024 * 1024);
  });

  it('drops a worker that exited: its heap is gone with it', async () => {
    await pool.close();
    assert.equal(await heap('committed'), 0);
    assert.equal(await heap('limit'), 0);
  });
});
