import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startEmberflow, type EmberProcess } from '../support/emberflow-process.js';
import { selectMergeStacktraces, waitFor } from '../support/query-client.js';
import { suiteEnv } from '../support/services.js';

// Issue 13's acceptance cases, on the three-process topology over the real Kafka and Redis: what
// a slow, hostile, unauthenticated or invented request gets from running processes, and that a
// hostile query blocks nobody.

const CPU = 'process_cpu:cpu:nanoseconds:cpu:nanoseconds';
const now = () => Math.floor(Date.now() / 1000);

async function upload(
  url: string,
  query: Record<string, string>,
  body: string | Buffer,
  headers: Record<string, string> = {},
): Promise<Response> {
  const r = await fetch(`${url}/ingest?${new URLSearchParams(query)}`, {
    method: 'POST',
    headers,
    body,
  });
  await r.arrayBuffer();
  return r;
}

async function metricsText(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

function counter(text: string, name: string, labels: string): number {
  let n = 0;
  for (const line of text.split('\n'))
    if (line.startsWith(`${name}{`) && line.includes(labels)) n += Number(line.split(' ').pop());
  return n;
}

describe('overload and hostile traffic (issue 13), three processes on real Kafka and Redis', () => {
  let env: Record<string, string>;
  let ingest: EmberProcess;
  let decoder: EmberProcess;
  let exporter: EmberProcess;
  before(async () => {
    env = suiteEnv();
    const config = join(env.EMBER_DATA_DIR, 'config.yaml');
    writeFileSync(
      config,
      [
        'tenants:',
        '  acme:',
        '    credentials:',
        '      - bearer: s3cret-token',
        '  slow:',
        '    limits: {ingestionRateBytes: 200000, ingestionBurstBytes: 200000}',
        '',
      ].join('\n'),
    );
    env.EMBER_CONFIG = config;
    exporter = await startEmberflow({ targets: 'exporter', env });
    decoder = await startEmberflow({ targets: 'decoder', env });
    ingest = await startEmberflow({ targets: 'ingest', env });
  });
  after(async () => {
    await Promise.allSettled([ingest?.stop(), decoder?.stop(), exporter?.stop()]);
  });

  it('answers a slow body 408 and closes its connection', async () => {
    const socket = connect(ingest.port, '127.0.0.1');
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString()));
    socket.on('error', () => {});
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.write(
      'POST /ingest?name=slow.cpu HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\na',
    );
    const drip = setInterval(() => socket.writable && socket.write('a'), 4_000);
    await closed;
    clearInterval(drip);
    assert.match(answer, /^HTTP\/1\.1 408 /);
    assert.match(answer, /EMBER_HTTP_BODY_MIN_RATE/);
  });

  it('takes a lowercase "bearer" scheme', async () => {
    const body = 'main;work 1\n';
    const q = { name: 'auth.cpu', from: String(now() - 10), until: String(now()) };
    const refused = await upload(ingest.url, q, body, { 'x-scope-orgid': 'acme' });
    assert.equal(refused.status, 401);
    const lower = await upload(ingest.url, q, body, {
      'x-scope-orgid': 'acme',
      authorization: 'bearer s3cret-token',
    });
    assert.equal(lower.status, 200);
  });

  it('charges an upload larger than the burst in full, in the shared bucket on Redis', async () => {
    const q = (i: number) => ({
      name: 'rate.cpu',
      from: String(now() - 10 - i),
      until: String(now()),
    });
    const big = Buffer.from(`main;work 1\n${'#'.repeat(786_000)}\n`);
    assert.equal((await upload(ingest.url, q(1), big, { 'x-scope-orgid': 'slow' })).status, 200);
    const next = await upload(ingest.url, q(2), 'main;work 1\n', { 'x-scope-orgid': 'slow' });
    assert.equal(next.status, 429);
    assert.ok(
      Number(next.headers.get('retry-after')) >= 3,
      String(next.headers.get('retry-after')),
    );
  });

  it('answers a Push JSON body nested 100,000 arrays deep 400', async () => {
    const r = await fetch(`${ingest.url}/push.v1.PusherService/Push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"series":${'['.repeat(100_000)}${']'.repeat(100_000)}}`,
    });
    assert.equal(r.status, 400);
    assert.match(await r.text(), /exceeded max recursion depth/);
  });

  it('stores the same body sent at two sample rates twice', async () => {
    const from = String(now() - 10);
    const until = String(now());
    const body = 'main;work 30\nmain;idle 10\n';
    for (const sampleRate of ['100', '50']) {
      const r = await upload(ingest.url, { name: 'rates.cpu', from, until, sampleRate }, body);
      assert.equal(r.status, 200);
    }
    // 40 samples at 10 ms plus 40 at 20 ms
    const want = 40 * 10_000_000 + 40 * 20_000_000;
    const total = await waitFor('both uploads stored', 60_000, async () => {
      const fg = await selectMergeStacktraces(exporter.url, {
        profileTypeID: CPU,
        labelSelector: '{service_name="rates"}',
        start: (Number(from) - 60) * 1000,
        end: (Number(until) + 60) * 1000,
      });
      return Number(fg.flamegraph.total) === want ? want : undefined;
    });
    assert.equal(total, want);
  });

  it('answers (a+)+ against a hostile stored value while every /healthz stays answered', async () => {
    const hostile = `${'a'.repeat(29)}x`;
    const q = {
      name: `regex.cpu{k=${hostile}}`,
      from: String(now() - 10),
      until: String(now()),
    };
    assert.equal((await upload(ingest.url, q, 'main;work 5\n')).status, 200);
    const range = { start: (now() - 3600) * 1000, end: (now() + 60) * 1000 };
    await waitFor('the hostile series stored', 60_000, async () => {
      const fg = await selectMergeStacktraces(exporter.url, {
        profileTypeID: CPU,
        labelSelector: `{service_name="regex"}`,
        ...range,
      });
      return Number(fg.flamegraph.total) > 0 ? true : undefined;
    });
    let probing = true;
    const probes: number[] = [];
    const prober = (async () => {
      while (probing) {
        for (const p of [ingest, exporter]) {
          const r = await fetch(`${p.url}/healthz`, { signal: AbortSignal.timeout(5_000) });
          probes.push(r.status);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const queries = await Promise.all(
      ['(a+)+', '(a|a)+', '(a*)*b', '(.*a){20}'].map((re) =>
        selectMergeStacktraces(exporter.url, {
          profileTypeID: CPU,
          labelSelector: `{service_name="regex", k=~"${re}"}`,
          ...range,
        }),
      ),
    );
    probing = false;
    await prober;
    for (const fg of queries) assert.equal(Number(fg.flamegraph.total), 0);
    assert.ok(probes.length >= 2 && probes.every((s) => s === 200), String(probes));
  });

  it('keeps /metrics within a few KB after 3,000 invented spyNames and tenants', async () => {
    const before = await Promise.all([ingest, decoder, exporter].map((p) => metricsText(p.url)));
    const sentBefore = counter(before[2], 'emberflow_exporter_series_total', 'outcome="sent"');
    let next = 0;
    const worker = async () => {
      while (next < 3_000) {
        const i = next++;
        const r = await upload(
          ingest.url,
          {
            name: `invented${i % 7}.cpu`,
            from: String(now() - 10),
            until: String(now() + i),
            spyName: `spy-${i}`,
          },
          `main;work ${1 + (i % 5)}\n`,
          { 'x-scope-orgid': `invented-tenant-${i}` },
        );
        assert.equal(r.status, 200);
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    await waitFor('every invented upload exported', 180_000, async () => {
      const sent = counter(
        await metricsText(exporter.url),
        'emberflow_exporter_series_total',
        'outcome="sent"',
      );
      return sent - sentBefore >= 3_000 ? true : undefined;
    });
    const afterTexts = await Promise.all(
      [ingest, decoder, exporter].map((p) => metricsText(p.url)),
    );
    afterTexts.forEach((text, i) => {
      const grown = text.length - before[i].length;
      assert.ok(
        grown < 16 * 1024,
        `${['ingest', 'decoder', 'exporter'][i]} /metrics grew ${grown} bytes`,
      );
      assert.doesNotMatch(text, /spy-\d+/);
      // the first EMBER_METRICS_MAX_TENANTS (10) invented tenants keep their names, no more
      const named = new Set(text.match(/invented-tenant-\d+/g) ?? []);
      assert.ok(named.size <= 10, `${named.size} invented tenants have their own label`);
    });
    assert.match(afterTexts[0], /spy="other",tenant="other",status="200"/);
  });
});
