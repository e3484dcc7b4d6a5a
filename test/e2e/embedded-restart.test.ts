import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import { ProfileBuilder, encodePprof } from '../../libs/model/index.js';
import { after, describe, it } from 'node:test';
import { startEmberflow, tempDataDir, type EmberProcess } from '../support/emberflow-process.js';
import { repoRoot } from '../support/paths.js';
import { foldedUpload } from '../support/production-shapes.js';
import { selectMergeStacktraces, waitFor } from '../support/query-client.js';

// Embedded defaults (no Kafka, no Redis: one process, in-process queue, state in the data dir):
// - dead letters never block live traffic: twenty corrupt 30 MiB uploads go to the bounded
//   dead-letter store (oldest evicted and counted), and a good upload right after is answered
//   200 and stored (they used to fill EMBER_MEMORY_QUEUE_BYTES for ever: 503 for everybody);
// - a restart keeps what users rely on: the agent's retry of an upload stored before the
//   restart is still a duplicate (stored once), the fleet view still lists the agent, and the
//   dead letters are still there for `npm run replay`, which brings a fixable one back.

const CPU = 'process_cpu:cpu:nanoseconds:cpu:nanoseconds';
const exec = promisify(execFile);

interface Fleet {
  agents: { service: string; lastUploadAt: number | null; lastExportAt: number | null }[];
}

describe('embedded defaults: dead letters apart from live traffic, state across a restart', () => {
  const procs: EmberProcess[] = [];
  after(async () => {
    for (const p of procs) await p.stop();
  });

  it('stores a good upload after 20 corrupt 30 MiB ones, and once only after a restart', async () => {
    const dataDir = tempDataDir('ember-embedded-');
    const cfg = (maxProfileBytes: number): string => {
      const path = join(dataDir, `limits-${maxProfileBytes}.yaml`);
      writeFileSync(
        path,
        `limits:\n  ingestionRateBytes: 0\n  maxProfileBytes: ${maxProfileBytes}\n`,
      );
      return path;
    };
    const env = (maxProfileBytes: number): Record<string, string> => ({
      EMBER_DATA_DIR: dataDir,
      EMBER_DEAD_LETTER_BYTES: String(256 * 1024 * 1024),
      EMBER_CONFIG: cfg(maxProfileBytes),
    });
    // limits that make one later upload fixable by a config change (replayed at the end)
    let app = await startEmberflow({ targets: 'all', env: env(64 * 1024) });
    procs.push(app);
    const run = randomUUID().slice(0, 6);
    const now = Math.floor(Date.now() / 1000);
    const post = (url: string, q: string, body: Buffer): Promise<Response> =>
      fetch(`${url}/ingest?${q}`, { method: 'POST', body });

    for (let i = 0; i < 20; i++) {
      const r = await post(
        app.url,
        `name=corrupt-${run}.cpu&format=trie&from=${now - 100 + i}&until=${now - 99 + i}`,
        randomBytes(30 * 1024 * 1024),
      );
      assert.equal(r.status, 200, `corrupt upload ${i}: ${r.status} ${await r.text()}`);
    }
    const service = `good-${run}`;
    const good = `name=${service}.cpu&from=${now - 20}&until=${now - 10}`;
    const body = Buffer.from('main;handler;work 7\nmain;idle 2\n');
    const ok = await post(app.url, good, body);
    assert.equal(ok.status, 200, await ok.text());
    const total = (url: string) =>
      selectMergeStacktraces(url, {
        profileTypeID: CPU,
        labelSelector: `{service_name="${service}"}`,
        start: (now - 3600) * 1000,
        end: (now + 60) * 1000,
      }).then((a) => Number(a.flamegraph.total));
    await waitFor('the good upload stored', 60_000, async () =>
      (await total(app.url)) === 90_000_000 ? true : undefined,
    );
    // every corrupt upload was dead-lettered; the store kept the newest within its bound
    let last = '';
    const metrics = await waitFor('all 20 dead-lettered', 60_000, async () => {
      last = await (await fetch(`${app.url}/metrics`)).text();
      let n = 0;
      for (const m of last.matchAll(
        /emberflow_dead_lettered_messages_total\{topic="profiles.raw.v1",reason="[a-z_]+"\} (\d+)/g,
      ))
        n += Number(m[1]);
      return n >= 20 ? last : undefined;
    }).catch((err: Error) => {
      const lines = last.split('\n').filter((l) => /dead_letter|discarded|queue_held/.test(l));
      throw new Error(`${err.message}\n${lines.join('\n')}\n${app.output().slice(-3000)}`);
    });
    assert.match(
      metrics,
      /emberflow_discarded_profiles_total\{reason="dead_letter_evicted",tenant="anonymous"\} [1-9]/,
    );
    const held = Number(/emberflow_dead_letter_store_bytes (\d+)/.exec(metrics)?.[1]);
    assert.ok(held > 0 && held <= 256 * 1024 * 1024, `dead-letter store holds ${held} bytes`);
    assert.match(metrics, /emberflow_memory_queue_held_bytes 0/);

    // an upload that fails a limit now and is fixed by the next config (replayed at the end)
    const fixable = `fixable-${run}`;
    const b = new ProfileBuilder()
      .sampleType('cpu', 'nanoseconds')
      .period('cpu', 'nanoseconds', 10_000_000)
      .time(BigInt(now - 40) * 1_000_000_000n, 10_000_000_000);
    for (let i = 0; i < 4000; i++) b.stack(['main', `mod${i % 10}`, `leaf${i}`], [10_000_000]);
    const bigger = gzipSync(encodePprof(b.build()));
    assert.ok(gunzipSync(bigger).length > 64 * 1024);
    const tenant = { 'X-Scope-OrgID': `team-${run}` };
    const fx = await fetch(
      `${app.url}/ingest?name=${fixable}.cpu&format=pprof&from=${now - 40}&until=${now - 30}`,
      { method: 'POST', body: bigger, headers: tenant },
    );
    assert.equal(fx.status, 200);
    await waitFor('the fixable upload dead-lettered', 30_000, async () => {
      const m = await (await fetch(`${app.url}/metrics`)).text();
      return m.includes(`reason="profile_size_limit",tenant="team-${run}"} 1`) ? true : undefined;
    });

    await app.stop();
    app = await startEmberflow({ targets: 'all', env: env(64 * 1024 * 1024) });
    procs.push(app);
    // the fleet view survived the restart
    const fleet = (await (await fetch(`${app.url}/api/v1/fleet`)).json()) as Fleet;
    const agent = fleet.agents.find((a) => a.service === service);
    assert.ok(agent, `fleet after restart: ${JSON.stringify(fleet.agents.map((a) => a.service))}`);
    assert.ok(agent.lastUploadAt && agent.lastExportAt);
    // the agent retries the upload it had sent before the restart: a duplicate, stored once
    const again = await post(app.url, good, body);
    assert.equal(again.status, 200);
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(await total(app.url), 90_000_000, 'stored once');
    const m2 = await (await fetch(`${app.url}/metrics`)).text();
    assert.match(m2, /emberflow_ingest_duplicate_uploads_total\{tenant="anonymous"\} 1/);

    // the dead letters are still there, and replay brings the fixable one back
    const replay = (args: string[]) =>
      exec(process.execPath, [join(repoRoot(), 'dist/apps/replay/main.js'), ...args], {
        env: { ...process.env, EMBER_DATA_DIR: dataDir, EMBER_KAFKA_BROKERS: '' },
      });
    const all = await replay(['--dry-run']);
    assert.match(all.stdout, /would replay ([1-9]\d*) of profiles\.raw\.v1\.dlq/);
    const dry = await replay(['--dry-run', '--tenant', `team-${run}`]);
    assert.match(dry.stdout, /would replay 1 of profiles\.raw\.v1\.dlq \(profile_size_limit: 1\)/);
    const done = await replay(['--tenant', `team-${run}`]);
    assert.match(done.stdout, /marked for replay 1 of profiles\.raw\.v1\.dlq/);
    const fixed = await waitFor('the replayed upload stored', 60_000, async () => {
      const a = await selectMergeStacktraces(
        app.url,
        {
          profileTypeID: CPU,
          labelSelector: `{service_name="${fixable}.cpu"}`, // pprof uploads keep the whole name
          start: (now - 3600) * 1000,
          end: (now + 60) * 1000,
        },
        tenant,
      );
      return a.flamegraph.total !== '0' ? Number(a.flamegraph.total) : undefined;
    }).catch(async (err: Error) => {
      const m = await (await fetch(`${app.url}/metrics`)).text();
      const lines = m
        .split('\n')
        .filter((l) => /^emberflow_(dead|disc|decoder_series|exporter_series|memory)/.test(l));
      throw new Error(`${err.message}\n${lines.join('\n')}\n${app.output().slice(-1500)}`);
    });
    assert.equal(fixed, 4000 * 10_000_000);
    const after = await replay(['--dry-run', '--tenant', `team-${run}`]);
    assert.match(after.stdout, /would replay 0 /, 'a replayed letter leaves the store');
  });

  it('finishes the uploads it accepted before a clean stop (SIGTERM), and refuses new ones meanwhile', async () => {
    const dataDir = tempDataDir('ember-embedded-');
    const cfg = join(dataDir, 'limits.yaml');
    writeFileSync(cfg, 'limits:\n  ingestionRateBytes: 0\n');
    const env = { EMBER_DATA_DIR: dataDir, EMBER_CONFIG: cfg, EMBER_SHUTDOWN_TIMEOUT: '60s' };
    let app = await startEmberflow({ targets: 'all', env });
    procs.push(app);
    const run = randomUUID().slice(0, 6);
    const now = Math.floor(Date.now() / 1000);
    let expected = 0;
    // a backlog the decoder needs seconds for: four 1.5 MB uploads of 12,000 stacks
    for (let i = 0; i < 4; i++) {
      const u = foldedUpload(500 + i);
      expected += u.total * 10_000_000;
      const r = await fetch(
        `${app.url}/ingest?name=drain-${run}.cpu&from=${now - 300 + i * 10}&until=${now - 290 + i * 10}`,
        { method: 'POST', body: u.body },
      );
      assert.equal(r.status, 200);
    }
    const held = /emberflow_memory_queue_held_bytes (\d+)/.exec(
      await (await fetch(`${app.url}/metrics`)).text(),
    );
    assert.ok(Number(held?.[1]) > 0, 'uploads still queued when the stop begins');
    const stopping = app.stop();
    await new Promise((r) => setTimeout(r, 300));
    const late = await fetch(`${app.url}/ingest?name=late-${run}.cpu`, {
      method: 'POST',
      body: 'main;late 1\n',
    }).catch(() => undefined);
    if (late) {
      assert.equal(late.status, 503, 'a new upload during the drain is refused, to be retried');
      assert.equal(late.headers.get('retry-after'), '5');
    }
    await stopping;
    assert.match(app.output(), /"message":"stopped"/);
    app = await startEmberflow({ targets: 'all', env });
    procs.push(app);
    const total = await selectMergeStacktraces(app.url, {
      profileTypeID: CPU,
      labelSelector: `{service_name="drain-${run}"}`,
      start: (now - 3600) * 1000,
      end: (now + 60) * 1000,
    });
    assert.equal(
      Number(total.flamegraph.total),
      expected,
      'every accepted upload stored before the stop',
    );
  });
});
