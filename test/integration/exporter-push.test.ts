import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { sampleIdFor } from '../../libs/backends/pyroscope/push-client.js';
import {
  startFakePyroscope,
  type FakeAnswer,
  type FakePyroscope,
  type ReceivedPush,
} from '../../libs/backends/pyroscope/testing.js';
import { ProfileBuilder, decodePprof, encodePprof } from '../../libs/model/index.js';
import {
  KafkaBroker,
  TOPICS,
  encodeNormalizedSeries,
  topicSpecs,
  type NormalizedSeries,
} from '../../libs/queue/index.js';
import { startEmberflow, type EmberProcess } from '../support/emberflow-process.js';
import { repoRoot } from '../support/paths.js';
import { waitFor } from '../support/query-client.js';
import { controlKafka, servicesScriptEnv, suiteEnv } from '../support/services.js';

// The exporter's delivery guarantee against a Push API server of our own (node:http, requests
// decoded with our push.v1 definitions), on the real Kafka broker and Redis: normalised series
// are published straight to profiles.normalized.v1 and must each reach the server exactly once,
// with their labels, tenant and samples, through
//   1. a backend outage: 503 for a while, then 429 with Retry-After;
//   2. a SIGKILL of the exporter while a Push is in flight (the server drops it, as Pyroscope
//      does when its client goes away), then a restart;
//   3. a restart of the Kafka broker.
// Sample totals in = totals out. A series older than the ingestion window is dead-lettered and
// counted, never pushed.

const run = randomUUID().slice(0, 8);
const SERVICE = `exp-${run}`;
const exec = promisify(execFile);

interface Published {
  series: NormalizedSeries;
  value: number;
}

function makeSeries(i: number, tenant: string, atMs = Date.now()): Published {
  const value = 1000 + i * 7;
  const b = new ProfileBuilder()
    .sampleType('cpu', 'nanoseconds')
    .period('cpu', 'nanoseconds', 10_000_000)
    .time(BigInt(atMs) * 1_000_000n, 10_000_000_000);
  b.stack(['main', 'work', `leaf${i}`], [value]);
  const uploadId = `${run}-${i}`;
  return {
    value,
    series: {
      seriesId: `${uploadId}:0`,
      uploadId,
      tenant,
      labels: [
        { name: '__name__', value: 'process_cpu' },
        { name: 'instance', value: `i-${i % 3}` },
        { name: 'service_name', value: SERVICE },
      ],
      profileTypeIds: ['process_cpu:cpu:nanoseconds:cpu:nanoseconds'],
      startMs: atMs,
      endMs: atMs + 10_000,
      pprof: Buffer.from(encodePprof(b.build())),
    },
  };
}

/** Every series of this run the server accepted, as (sample id → series) with repeats counted. */
function acceptedOfRun(fake: FakePyroscope) {
  const out: { id: string; orgId: string; labels: string; value: number; req: ReceivedPush }[] = [];
  for (const req of fake.accepted) {
    for (const s of req.request.series) {
      if (!s.labels.some((l) => l.name === 'service_name' && l.value === SERVICE)) continue;
      for (const sample of s.samples) {
        const raw = Buffer.from(sample.rawProfile);
        const p = decodePprof(raw[0] === 0x1f ? gunzipSync(raw) : raw);
        out.push({
          id: sample.id,
          orgId: String(req.headers['x-scope-orgid'] ?? ''),
          labels: JSON.stringify(s.labels),
          value: p.sample.reduce((a, x) => a + Number(x.value[0]), 0),
          req,
        });
      }
    }
  }
  return out;
}

describe('exporter → Pyroscope Push: exactly once through outages, a crash and a broker restart (real Kafka and Redis)', () => {
  let fake: FakePyroscope;
  let producer: KafkaBroker;
  let env: Record<string, string>;
  const procs: EmberProcess[] = [];
  const published: Published[] = [];
  /** sample ids of the Push held in flight when the exporter was killed */
  const inFlightAtKill = new Set<string>();
  let seq = 0;

  const publish = async (n: number): Promise<void> => {
    const batch: Published[] = [];
    for (let k = 0; k < n; k++) {
      const i = seq++;
      batch.push(makeSeries(i, i % 2 === 0 ? 'team-a' : 'team-b'));
    }
    await producer.publish(
      TOPICS.normalized,
      batch.map((p) => encodeNormalizedSeries(p.series)),
    );
    published.push(...batch);
  };

  const allArrived = (what: string, timeoutMs: number) =>
    waitFor(what, timeoutMs, async () => {
      const ids = new Set(acceptedOfRun(fake).map((a) => a.id));
      const missing = published.filter(
        (p) => !ids.has(sampleIdFor(p.series.tenant, p.series.seriesId)),
      );
      return missing.length === 0 ? true : undefined;
    });

  before(async () => {
    fake = await startFakePyroscope();
    // own Kafka namespace (topics, consumer groups) and data dir: no other suite's exporter
    // takes our series, and we take none of theirs
    const base = suiteEnv();
    const configPath = join(base.EMBER_DATA_DIR, 'emberflow.yaml');
    writeFileSync(
      configPath,
      [
        'backends:',
        '  embedded:',
        '    enabled: false',
        '  pyroscope:',
        `    - name: fake-${run}`,
        `      url: ${fake.url}`,
        '      tenants:',
        '        team-a: org-a',
        '      headers:',
        '        X-Emberflow-Test: yes',
        '      bearerToken: push-token',
        '      timeout: 5s',
        '      rejectOlderThan: 1h',
        '      retry:',
        '        initialInterval: 100ms',
        '        maxInterval: 1s',
        '        maxElapsed: 10s',
        '      batch:',
        '        maxSeries: 10',
        '        flushInterval: 50ms',
        '',
      ].join('\n'),
    );
    env = { ...base, EMBER_CONFIG: configPath };
    producer = new KafkaBroker({
      brokers: env.EMBER_KAFKA_BROKERS.split(','),
      clientId: `exporter-push-test-${run}`,
      requestTimeoutMs: 30_000,
      maxBytesPerPartition: 8 << 20,
      sessionTimeoutMs: 30_000,
      namespace: env.EMBER_NAMESPACE,
      log: () => {},
    });
    await producer.start(
      topicSpecs({ rawPartitions: 2, normalizedPartitions: 2, maxUploadBytes: 32 << 20 }),
    );
    procs.push(await startEmberflow({ targets: 'exporter', env }));
    console.log(
      `# run ${run}: fake Pyroscope at ${fake.url}, kafka ${env.EMBER_KAFKA_BROKERS} namespace ${env.EMBER_NAMESPACE}`,
    );
  });

  after(async () => {
    for (const p of procs) await p.stop();
    await producer?.close();
    await fake?.close();
  });

  it('1. rides out 503s, then honours 429 Retry-After, and delivers everything once', async () => {
    const started = Date.now();
    const answers: { at: number; status: number; first: string }[] = [];
    let throttled = 0;
    fake.respond = (req): FakeAnswer => {
      let a: FakeAnswer;
      if (Date.now() - started < 3_000)
        a = { status: 503, body: '{"code":"unavailable","message":"ingester is restarting"}' };
      else if (throttled < 2) {
        throttled++;
        a = {
          status: 429,
          headers: { 'retry-after': '1' },
          body: '{"code":"resource_exhausted","message":"push rate limit (4.0 MiB) exceeded"}',
        };
      } else a = { status: 200 };
      answers.push({
        at: Date.now(),
        status: a.status,
        first: req.request.series[0]?.samples[0]?.id ?? '',
      });
      return a;
    };
    await publish(40);
    await allArrived('phase 1 series', 90_000);
    assert.ok(answers.filter((a) => a.status === 503).length >= 1, 'saw the outage');
    assert.equal(answers.filter((a) => a.status === 429).length, 2);
    // after each 429 the retry of that request waited for Retry-After (1 s)
    for (const [i, a] of answers.entries()) {
      if (a.status !== 429) continue;
      const retry = answers.slice(i + 1).find((b) => b.first === a.first);
      assert.ok(retry, 'the throttled request was retried');
      assert.ok(retry.at - a.at >= 950, `retried ${retry.at - a.at} ms after a 429`);
    }
  });

  it('2. a SIGKILL while a Push is in flight loses nothing; only that Push may repeat, with the same sample ids', async () => {
    let served = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let holding!: () => void;
    const held = new Promise<void>((r) => (holding = r));
    fake.respond = async (req): Promise<FakeAnswer> => {
      if (++served <= 2) return { status: 200 };
      // The backend ingests this request but the exporter dies before it hears so: the one
      // window no sender can close alone. Its series may come again after the restart, with
      // the same stable sample ids, so a receiver that keys on them stores them once.
      for (const s of req.request.series) for (const x of s.samples) inFlightAtKill.add(x.id);
      holding();
      await gate;
      return { status: 200 };
    };
    await publish(40);
    await held;
    await new Promise((r) => setTimeout(r, 500)); // let the acknowledged chunks be recorded
    await procs[0].kill();
    console.log(`# exporter SIGKILLed with a Push in flight after ${served - 1} answered requests`);
    fake.respond = () => ({ status: 200 });
    release();
    procs[0] = await startEmberflow({ targets: 'exporter', env });
    await allArrived('phase 2 series after the restart', 120_000);
  });

  it('3. survives a broker restart', async () => {
    await publish(30);
    const t0 = Date.now();
    if (process.env.EMBER_TEST_SERVICES === 'testcontainers') {
      controlKafka('stop');
      controlKafka('start');
    } else {
      // asynchronously: the fake Pyroscope lives in this process and keeps answering
      await exec('bash', ['scripts/services.sh', 'restart-kafka'], {
        cwd: repoRoot(),
        timeout: 300_000,
        env: servicesScriptEnv(),
      });
    }
    console.log(`# broker restarted in ${Date.now() - t0} ms`);
    await waitFor('the producer after the broker restart', 60_000, async () => {
      await publish(30);
      return true;
    });
    try {
      await allArrived('phase 3 series', 150_000);
    } catch (err) {
      console.log(procs[0].output().split('\n').slice(-40).join('\n'));
      throw err;
    }
  });

  it('4. dead-letters a series older than the ingestion window instead of pushing it', async () => {
    const old = makeSeries(seq++, 'team-a', Date.now() - 2 * 3600_000);
    await producer.publish(TOPICS.normalized, [encodeNormalizedSeries(old.series)]);
    await waitFor('the discard to be counted', 60_000, async () => {
      const m = await (await fetch(`${procs[0].url}/metrics`)).text();
      return /emberflow_discarded_profiles_total\{reason="not_in_ingestion_window",tenant="team-a"\} [1-9]/.test(
        m,
      )
        ? true
        : undefined;
    });
    const oldId = sampleIdFor('team-a', old.series.seriesId);
    assert.ok(
      !fake.received.some((r) =>
        r.request.series.some((s) => s.samples.some((x) => x.id === oldId)),
      ),
    );
  });

  it('5. every series arrived once (in-flight repeats aside), with its labels, tenant and samples', async () => {
    await new Promise((r) => setTimeout(r, 2_000)); // a duplicate would land by now
    const got = acceptedOfRun(fake);
    const byId = new Map<string, (typeof got)[number][]>();
    for (const g of got) byId.set(g.id, [...(byId.get(g.id) ?? []), g]);
    const dupes = [...byId.values()].filter((v) => v.length > 1).length;
    const report = [...byId.entries()]
      .filter(([, v]) => v.length > 1)
      .map(([id, v]) => {
        const p = published.findIndex(
          (x) => sampleIdFor(x.series.tenant, x.series.seriesId) === id,
        );
        return `#${p} x${v.length}`;
      });
    // Exactly once everywhere but the Push that was in flight when the exporter was killed.
    const repeatedOutsideKill = [...byId.entries()].filter(
      ([id, v]) => v.length > 1 && !inFlightAtKill.has(id),
    );
    assert.equal(
      repeatedOutsideKill.length,
      0,
      `${dupes} series arrived more than once (${report.join(', ')}), ${repeatedOutsideKill.length} of them not in the Push in flight at the kill`,
    );
    for (const [id, v] of byId)
      if (v.length > 1) assert.ok(v.length === 2, `${id} arrived ${v.length} times`);
    if (dupes > 0)
      console.log(
        `# ${dupes} series of the in-flight Push were re-sent after the restart (same sample ids)`,
      );
    assert.equal(byId.size, published.length);
    let totalIn = 0;
    let totalOut = 0;
    for (const p of published) {
      const [g] = byId.get(sampleIdFor(p.series.tenant, p.series.seriesId)) ?? [];
      assert.ok(g, `series ${p.series.seriesId} missing`);
      assert.equal(g.labels, JSON.stringify(p.series.labels));
      assert.equal(g.orgId, p.series.tenant === 'team-a' ? 'org-a' : 'team-b');
      assert.equal(g.value, p.value);
      totalIn += p.value;
      totalOut += g.value;
    }
    assert.equal(totalOut, totalIn);
    const h = got[0].req.headers;
    assert.equal(h['content-type'], 'application/proto');
    assert.equal(h['content-encoding'], 'gzip');
    assert.equal(h['authorization'], 'Bearer push-token');
    assert.equal(h['x-emberflow-test'], 'yes');
    console.log(
      `# ${published.length} series, ${fake.received.length} requests (${fake.accepted.length} accepted), sample total ${totalIn}`,
    );
  });
});
