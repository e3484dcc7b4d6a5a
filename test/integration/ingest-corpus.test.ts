import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import {
  KafkaBroker,
  TOPICS,
  decodeRawUpload,
  type IncomingMessage,
  type RawUpload,
  type Subscription,
} from '../../libs/queue/index.js';
import {
  goPprofForm,
  isGz,
  javaJfrForm,
  pushRequest,
  rawUpload,
  send,
  type AgentRequest,
} from '../support/agent-requests.js';
import { startEmberflow, type EmberProcess } from '../support/emberflow-process.js';
import { fixturePath } from '../support/paths.js';
import { waitFor } from '../support/query-client.js';
import { suiteEnv, testServices } from '../support/services.js';

// Every fixture of the corpus, posted every way the agents post it, to an ingest process on the
// real broker. Each (but the two Pyroscope refuses, answered as it answers them and never
// published) must be answered 200 and published once to profiles.raw.v1 with the exact
// bytes that were sent and the metadata ingest resolved. Each case has its own tenant, which is
// how its message is found on the topic.

interface Case {
  name: string;
  request: AgentRequest;
  format: RawUpload['format'];
  appName: string;
  /**
   * Pyroscope refuses this one (issue 15, item 7): the status it answers. invalid_utf8.pb.gz
   * everywhere, dotnet-pprof-3.pb.gz (function ids 0) on Push, where no .NET fix runs first.
   */
  refused?: 400 | 422;
}

function read(...p: string[]): Buffer {
  return readFileSync(fixturePath(...p));
}

function plain(b: Buffer): Buffer {
  return isGz(b) ? gunzipSync(b) : b;
}

function corpus(): Case[] {
  const cases: Case[] = [];
  const pprofDir = fixturePath('pyroscope', 'pprof');
  for (const f of readdirSync(pprofDir)) {
    if (f.endsWith('.json')) continue;
    const bytes = read('pyroscope', 'pprof', f);
    const stem = f.replace(/\.(pb\.gz|pb|pprof)$/, '');
    const stPath = fixturePath('pyroscope', 'pprof', `${stem}.st.json`);
    const st = existsSync(stPath) ? readFileSync(stPath) : undefined;
    const app = `corpus.${stem.replace(/[^A-Za-z0-9_.-]/g, '_')}.cpu`;
    const invalid = f === 'invalid_utf8.pb.gz' ? 422 : undefined;
    // the broken .NET profile is what the .NET agent sends: Pyroscope fixes its ids on /ingest
    const dotnet = f === 'dotnet-pprof-3.pb.gz';
    const withSpy = (r: AgentRequest): AgentRequest =>
      dotnet ? { ...r, query: { ...r.query, spyName: 'dotnetspy' } } : r;
    cases.push({
      name: `pprof/${f} Go multipart`,
      request: withSpy(goPprofForm(app, bytes, st)),
      format: 'pprof-form',
      appName: app,
      refused: invalid,
    });
    cases.push({
      name: `pprof/${f} raw as sent`,
      request: withSpy(rawUpload(app, 'pprof', bytes)),
      format: 'pprof',
      appName: app,
      refused: invalid,
    });
    cases.push({
      name: `pprof/${f} raw uncompressed`,
      request: withSpy(rawUpload(app, 'pprof', plain(bytes))),
      format: 'pprof',
      appName: app,
      refused: invalid,
    });
    for (const codec of ['proto', 'json'] as const) {
      for (const gzipBody of [false, true]) {
        cases.push({
          name: `pprof/${f} Push ${codec}${gzipBody ? ' gzip' : ''}`,
          request: pushRequest(
            { __name__: 'process_cpu', service_name: 'corpus-push' },
            bytes,
            codec,
            gzipBody,
          ),
          format: 'push',
          appName: 'corpus-push',
          refused: invalid || dotnet ? 400 : undefined,
        });
      }
    }
  }
  const jfrDir = fixturePath('pyroscope', 'jfr');
  for (const f of readdirSync(jfrDir)) {
    if (!f.endsWith('.jfr.gz')) continue;
    const jfr = read('pyroscope', 'jfr', f);
    const stem = f.replace(/\.jfr\.gz$/, '');
    const labelsFile = readdirSync(jfrDir).find((x) => x.startsWith(`${stem}.labels`));
    const labels = labelsFile ? read('pyroscope', 'jfr', labelsFile) : undefined;
    const app = `corpus.${stem.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
    cases.push({
      name: `jfr/${f} Java multipart`,
      request: javaJfrForm(app, jfr, labels),
      format: 'jfr-form',
      appName: app,
    });
    cases.push({
      name: `jfr/${f} raw`,
      request: rawUpload(app, 'jfr', gunzipSync(jfr)),
      format: 'jfr',
      appName: app,
    });
  }
  const legacy: [string, string | undefined, RawUpload['format'], Record<string, string>][] = [
    ['groups-testvector.txt', undefined, 'groups', {}],
    ['dump1-cpu.folded.txt', undefined, 'groups', { 'content-type': 'text/plain' }],
    ['lines-testvector.txt', 'lines', 'lines', {}],
    ['tree-nodict-testvector.bin', 'tree', 'tree', {}],
    ['dump1-cpu.tree.bin', undefined, 'tree', { 'content-type': 'binary/octet-stream+tree' }],
    ['trie-testvector.bin', 'trie', 'trie', {}],
    ['dump1-cpu.trie.bin', undefined, 'trie', { 'content-type': 'binary/octet-stream+trie' }],
  ];
  for (const [f, format, expected, headers] of legacy) {
    cases.push({
      name: `legacy/${f}`,
      request: rawUpload('corpus.legacy.cpu', format, read('pyroscope', 'legacy', f), headers),
      format: expected,
      appName: 'corpus.legacy.cpu',
    });
  }
  for (const f of readdirSync(fixturePath('pyroscope', 'speedscope'))) {
    cases.push({
      name: `speedscope/${f}`,
      request: rawUpload('corpus.speedscope', 'speedscope', read('pyroscope', 'speedscope', f)),
      format: 'speedscope',
      appName: 'corpus.speedscope',
    });
  }
  cases.push({
    name: 'multipart/go-mutex.multipart.bin as captured',
    request: {
      way: 'captured',
      path: '/ingest',
      query: { name: 'corpus.gomutex{env=dev}', spyName: 'gospy' },
      headers: {
        'content-type':
          'multipart/form-data; boundary=5f0e3a8c1d2b4a697788990011223344556677889900aabbccddeeff0011',
      },
      body: read('pyroscope', 'multipart', 'go-mutex.multipart.bin'),
    },
    format: 'pprof-form',
    appName: 'corpus.gomutex',
  });
  return cases;
}

describe('ingest accepts the whole corpus the way agents send it (real Kafka and Redis)', () => {
  const svc = testServices();
  const run = randomUUID().slice(0, 8);
  const all = corpus();
  const cases = all.filter((c) => c.refused === undefined);
  const refused = all.filter((c) => c.refused !== undefined);
  let ingest: EmberProcess;
  let broker: KafkaBroker;
  let sub: Subscription;
  const byTenant = new Map<string, IncomingMessage[]>();

  before(async () => {
    const env = suiteEnv({ EMBER_CONFIG: '' });
    ingest = await startEmberflow({
      targets: 'ingest',
      env,
    });
    broker = new KafkaBroker({
      brokers: svc.kafkaBrokers.split(','),
      clientId: 'corpus-test',
      requestTimeoutMs: 30_000,
      maxBytesPerPartition: 40 * 1024 * 1024,
      sessionTimeoutMs: 10_000,
      namespace: env.EMBER_NAMESPACE,
      log: () => {},
    });
    sub = await broker.subscribe({
      groupId: `corpus-${run}`,
      topic: TOPICS.raw,
      maxBatchSize: 500,
      handler: async (b) => {
        for (const m of b.messages) {
          const t = m.headers['ember-tenant'] ?? '';
          if (!t.startsWith(`c-${run}-`)) continue;
          byTenant.set(t, [...(byTenant.get(t) ?? []), m]);
        }
      },
    });
  });
  after(async () => {
    await sub?.close();
    await broker?.close();
    await ingest?.stop();
  });

  it(`answers 200 to all ${cases.length} requests and publishes each once, bytes and metadata intact`, async () => {
    assert.ok(cases.length > 150, `corpus has ${cases.length} cases`);
    assert.equal(refused.length, 3 + 4 + 4, 'invalid_utf8 every way, dotnet-pprof-3 on Push');
    for (const [i, c] of refused.entries()) {
      const r = await send(ingest.url, c.request, { 'x-scope-orgid': `c-${run}-r${i}` });
      assert.equal(r.status, c.refused, `${c.name}: ${r.status} ${await r.text()}`);
    }
    for (const [i, c] of cases.entries()) {
      const r = await send(ingest.url, c.request, { 'x-scope-orgid': `c-${run}-${i}` });
      assert.equal(r.status, 200, `${c.name}: ${r.status} ${await r.text()}`);
    }
    await waitFor('every published upload', 60_000, async () =>
      byTenant.size >= cases.length ? true : undefined,
    );
    await new Promise((r) => setTimeout(r, 1000)); // a second copy would arrive by now
    for (const [i, c] of refused.entries())
      assert.equal(byTenant.get(`c-${run}-r${i}`), undefined, `${c.name}: published`);
    for (const [i, c] of cases.entries()) {
      const msgs = byTenant.get(`c-${run}-${i}`) ?? [];
      assert.equal(msgs.length, 1, `${c.name}: published ${msgs.length} times`);
      const u = decodeRawUpload(msgs[0]);
      assert.ok(u.body.equals(c.request.body), `${c.name}: body bytes differ`);
      assert.equal(u.format, c.format, c.name);
      assert.equal(u.params.appName, c.appName, c.name);
      assert.equal(u.contentType, c.request.headers['content-type'] ?? '', c.name);
      assert.equal(u.contentEncoding, c.request.headers['content-encoding'] ?? '', c.name);
      if (c.request.query.spyName) assert.equal(u.params.spyName, c.request.query.spyName, c.name);
      if (c.request.query.from && c.format !== 'push') {
        const from = BigInt(c.request.query.from);
        const ns = from < 10n ** 12n ? from * 1_000_000_000n : from;
        assert.equal(u.params.fromNanos, ns.toString(), c.name);
      }
    }
  });
});
