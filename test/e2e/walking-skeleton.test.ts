import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startEmberflow, type EmberProcess } from '../support/emberflow-process.js';
import { selectMergeStacktraces, selfByName, waitFor } from '../support/query-client.js';
import { suiteEnv, testServices } from '../support/services.js';

// The walking skeleton, end to end on the real Kafka broker and real Redis, in both topologies:
// one process with every target, and three processes (ingest, decoder, exporter). A folded
// upload goes in through /ingest and must come out of the query API with Pyroscope's labels.

const CPU = 'process_cpu:cpu:nanoseconds:cpu:nanoseconds';

interface Topology {
  name: string;
  start(
    env: Record<string, string>,
  ): Promise<{ ingest: string; query: string; procs: EmberProcess[] }>;
}

const topologies: Topology[] = [
  {
    name: 'all targets in one process',
    async start(env) {
      const p = await startEmberflow({ targets: 'all', env });
      return { ingest: p.url, query: p.url, procs: [p] };
    },
  },
  {
    name: 'three processes',
    async start(env) {
      const exporter = await startEmberflow({ targets: 'exporter', env });
      const decoder = await startEmberflow({ targets: 'decoder', env });
      const ingest = await startEmberflow({ targets: 'ingest', env });
      return { ingest: ingest.url, query: exporter.url, procs: [ingest, decoder, exporter] };
    },
  },
];

async function labelValues(url: string, name: string, selector: string): Promise<string[]> {
  const r = await fetch(`${url}/querier.v1.QuerierService/LabelValues`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      name,
      matchers: [selector],
      start: Date.now() - 3600_000,
      end: Date.now() + 60_000,
    }),
  });
  assert.equal(r.status, 200);
  return ((await r.json()) as { names: string[] }).names;
}

for (const topology of topologies) {
  describe(`walking skeleton on real Kafka and Redis: ${topology.name}`, () => {
    const svc = testServices();
    let env: Record<string, string>;
    let running: Awaited<ReturnType<Topology['start']>>;

    before(async () => {
      env = suiteEnv();
      running = await topology.start(env);
      console.log(
        `# topology "${topology.name}": kafka ${svc.kafkaBrokers}, redis ${svc.redisUrl}`,
      );
    });
    after(async () => {
      for (const p of running?.procs ?? []) await p.stop();
    });

    it('turns a folded upload into a pprof series readable through SelectMergeStacktraces', async () => {
      const app = `app-${randomUUID().slice(0, 8)}`;
      const now = Math.floor(Date.now() / 1000);
      const res = await fetch(
        `${running.ingest}/ingest?name=${encodeURIComponent(`${app}.cpu{env=dev}`)}&from=${now - 10}&until=${now}&spyName=gospy`,
        { method: 'POST', body: 'main;work;hot 30\nmain;work;cold 10\nmain;idle 5\n' },
      );
      assert.equal(res.status, 200, await res.text());

      const selector = `{service_name="${app}"}`;
      const answer = await waitFor('the series in the store', 30_000, async () => {
        const a = await selectMergeStacktraces(running.query, {
          profileTypeID: CPU,
          labelSelector: selector,
          start: (now - 3600) * 1000,
          end: (now + 60) * 1000,
        });
        return a.flamegraph.total !== '0' ? a : undefined;
      });
      // folded values are sample counts; at the default 100 Hz one sample is 10 ms of CPU
      assert.equal(answer.flamegraph.total, String(45 * 10_000_000));
      const self = selfByName(answer.flamegraph);
      assert.equal(self.get('hot'), 30 * 10_000_000);
      assert.equal(self.get('cold'), 10 * 10_000_000);
      assert.equal(self.get('idle'), 5 * 10_000_000);

      assert.deepEqual(await labelValues(running.query, '__name__', selector), ['process_cpu']);
      assert.deepEqual(await labelValues(running.query, 'env', selector), ['dev']);
      // Pyroscope stores no __delta__ (pkg/segmentwriter/memdb/head.go) but __type__ and
      // __service_name__ (pkg/phlaredb/labels/labels.go CreateProfileLabels)
      assert.deepEqual(await labelValues(running.query, '__delta__', selector), []);
      assert.deepEqual(await labelValues(running.query, '__type__', selector), ['cpu']);
      assert.deepEqual(await labelValues(running.query, '__service_name__', selector), [app]);
      assert.deepEqual(await labelValues(running.query, 'pyroscope_spy', selector), ['gospy']);
    });

    it('answers a retried identical upload with 200 and stores it once', async () => {
      const app = `dup-${randomUUID().slice(0, 8)}`;
      const now = Math.floor(Date.now() / 1000);
      const url = `${running.ingest}/ingest?name=${app}.cpu&from=${now - 10}&until=${now}`;
      for (let i = 0; i < 3; i++) {
        const r = await fetch(url, { method: 'POST', body: 'a;b 7\n' });
        assert.equal(r.status, 200);
      }
      const answer = await waitFor('the deduplicated series', 30_000, async () => {
        const a = await selectMergeStacktraces(running.query, {
          profileTypeID: CPU,
          labelSelector: `{service_name="${app}"}`,
          start: (now - 3600) * 1000,
          end: (now + 60) * 1000,
        });
        return a.flamegraph.total !== '0' ? a : undefined;
      });
      await new Promise((r) => setTimeout(r, 1500)); // give a wrongly published copy time to land
      const again = await selectMergeStacktraces(running.query, {
        profileTypeID: CPU,
        labelSelector: `{service_name="${app}"}`,
        start: (now - 3600) * 1000,
        end: (now + 60) * 1000,
      });
      assert.equal(answer.flamegraph.total, String(7 * 10_000_000));
      assert.equal(again.flamegraph.total, String(7 * 10_000_000));
    });

    it('rejects a bad name with Pyroscope’s 400 and a JSON error body', async () => {
      const r = await fetch(`${running.ingest}/ingest?name=${encodeURIComponent('bad app{x=1}')}`, {
        method: 'POST',
        body: 'a 1\n',
      });
      assert.equal(r.status, 400);
      const body = (await r.json()) as { code: string; message: string };
      assert.equal(body.code, 'invalid_argument');
      assert.match(body.message, /^name: /);
    });

    it('serves health and Prometheus metrics on every process', async () => {
      for (const p of running.procs) {
        assert.equal((await fetch(`${p.url}/healthz`)).status, 200);
        const ready = await fetch(`${p.url}/readyz`);
        assert.equal(ready.status, 200);
        const checks = ((await ready.json()) as { checks: Record<string, { ok: boolean }> }).checks;
        assert.equal(checks.queue.ok, true);
        assert.equal(checks.store.ok, true);
        const metrics = await (await fetch(`${p.url}/metrics`)).text();
        assert.match(metrics, /emberflow_stage_duration_seconds/);
      }
      const ingestMetrics = await (await fetch(`${running.ingest}/metrics`)).text();
      assert.match(
        ingestMetrics,
        /emberflow_ingest_requests_total\{[^}]*status="200"[^}]*\} [1-9]/,
      );
    });
  });
}
