import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { postAdmitted } from '../support/agent-requests.js';
import { startEmberflow, type EmberProcess } from '../support/emberflow-process.js';
import { topicRecords } from '../support/kafka-admin.js';
import { foldedUpload } from '../support/production-shapes.js';
import { selectMergeStacktraces, waitFor } from '../support/query-client.js';
import { suiteEnv } from '../support/services.js';

// Issue 12's acceptance, on the real broker and Redis, three processes: with the decoder
// stopped, twelve 1.5 MB folded uploads of about 12,000 distinct stacks each pile up (each
// becomes a ~3.6 MB normalised record; ten of them in one produce request used to exceed the
// topic's limit, MESSAGE_TOO_LARGE was retried for ever and every partition stopped). Then the
// decoder starts and 20 small uploads for other services arrive. All 32 must be stored with
// exact totals, and nothing dead-lettered.

const CPU = 'process_cpu:cpu:nanoseconds:cpu:nanoseconds';
const NS_PER_COUNT = 10_000_000; // folded counts at the default 100 Hz

describe('production-shaped load: twelve 1.5 MB uploads with 12,000 stacks each, then twenty small ones (real Kafka and Redis, three processes)', () => {
  let env: Record<string, string>;
  const procs: EmberProcess[] = [];

  before(async () => {
    env = suiteEnv();
    // the default per-tenant rate (4 MiB/s) would answer part of the burst 429: not this test's subject
    const cfg = join(env.EMBER_DATA_DIR, 'emberflow.yaml');
    writeFileSync(cfg, 'limits:\n  ingestionRateBytes: 0\n');
    env.EMBER_CONFIG = cfg;
    procs.push(await startEmberflow({ targets: 'exporter', env }));
    procs.push(await startEmberflow({ targets: 'ingest', env }));
  });
  after(async () => {
    for (const p of procs) await p.stop();
  });

  it('stores all 32 with exact totals and dead-letters nothing', async () => {
    const [exporter, ingest] = procs;
    const run = randomUUID().slice(0, 6);
    const now = Math.floor(Date.now() / 1000);
    const expected = new Map<string, number>();
    // The small uploads follow twelve 1.5 MB ones the decoder takes seconds for: on a loaded
    // machine ingest may hold them and answer 503 pipeline_behind; they are retried as an agent
    // retries (after Retry-After). What the test pins is that every accepted upload is stored.
    const post = async (service: string, body: Buffer, from: number): Promise<void> => {
      const r = await postAdmitted(
        `${ingest.url}/ingest?name=${encodeURIComponent(service)}&from=${from}&until=${from + 10}&spyName=javaspy`,
        body,
      );
      assert.equal(r.status, 200, `${service}: ${r.status} ${r.text}`);
    };
    // two senders (two instances of one service, so one partition) of six big uploads each:
    // all twelve wait in one partition for the decoder and come out of it in one batch
    const big = `big-${run}`;
    await Promise.all(
      [0, 1].map(async (sender) => {
        for (let i = 0; i < 6; i++) {
          const u = foldedUpload(sender * 100 + i);
          assert.ok(u.body.length > 1_400_000 && u.stacks === 12_000);
          expected.set(big, (expected.get(big) ?? 0) + u.total * NS_PER_COUNT);
          await post(`${big}.cpu{instance=sender-${sender}}`, u.body, now - 600 + i * 10);
        }
      }),
    );
    const decoder = await startEmberflow({ targets: 'decoder', env });
    procs.push(decoder);
    for (let i = 0; i < 20; i++) {
      const service = `small-${run}-${i}`;
      expected.set(service, (i + 1) * NS_PER_COUNT);
      await post(`${service}.cpu`, Buffer.from(`main;work;leaf${i} ${i + 1}\n`), now - 30);
    }
    const totalOf = async (service: string): Promise<number> => {
      const a = await selectMergeStacktraces(exporter.url, {
        profileTypeID: CPU,
        labelSelector: `{service_name="${service}"}`,
        start: (now - 3600) * 1000,
        end: (now + 60) * 1000,
      });
      return Number(a.flamegraph.total);
    };
    await waitFor('all 32 uploads stored', 240_000, async () => {
      for (const [service, total] of expected)
        if ((await totalOf(service)) < total) return undefined;
      return true;
    });
    await new Promise((r) => setTimeout(r, 2000)); // a duplicate would land by now
    for (const [service, total] of expected)
      assert.equal(await totalOf(service), total, `${service} stored exactly once`);
    const ns = env.EMBER_NAMESPACE;
    assert.equal(await topicRecords(`${ns}profiles.raw.v1.dlq`), 0, 'no upload dead-lettered');
    assert.equal(
      await topicRecords(`${ns}profiles.normalized.v1.dlq`),
      0,
      'no series dead-lettered',
    );
    for (const p of procs)
      console.log(`# ${p.targets}: peak RSS ${(p.peakRssBytes() / 1048576).toFixed(0)} MiB`);
    for (const p of procs) {
      const ready = (await (await fetch(`${p.url}/readyz`)).json()) as { status: string };
      assert.equal(ready.status, 'ready', `${p.targets}: ${JSON.stringify(ready)}`);
    }
  });
});
