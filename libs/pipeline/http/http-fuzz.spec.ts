import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { fixturePath } from '../../../test/support/paths.js';
import { listenOnFreePort } from '../../../test/support/ports.js';
import { bootstrap, type RunningEmberflow } from '../../runtime/bootstrap.js';

// The HTTP surface of a whole one-process Emberflow, fuzzed: whatever a client sends (methods,
// paths, query strings, headers, bodies random or mutated from real agent uploads, JSON nested
// past any parser's stack, regexes in selectors), the answer is never a 5xx other than 503.
// A 500 means a client's input reached a path that does not classify its errors.

const SEED = Number(process.env.EMBER_FUZZ_SEED ?? 20261202);
const RUNS = Number(process.env.EMBER_FUZZ_RUNS ?? 300);

const fixtures = (): Buffer[] => [
  readFileSync(fixturePath('pyroscope', 'pprof', 'cpu.pb.gz')),
  readFileSync(fixturePath('pyroscope', 'pprof', 'heap')),
  readFileSync(fixturePath('pyroscope', 'jfr', 'example.jfr.gz')),
  readFileSync(fixturePath('pyroscope', 'multipart', 'go-mutex.multipart.bin')),
  readFileSync(fixturePath('pyroscope', 'legacy', 'dump1-cpu.trie.bin')),
  readFileSync(fixturePath('pyroscope', 'speedscope', 'simple.speedscope.json')),
  Buffer.from('main;work;hot 30\nmain;idle 5\n'),
];

const GO_BOUNDARY = '5f0e3a8c1d2b4a697788990011223344556677889900aabbccddeeff0011';

const deepJson = (n: number, open: string, close: string, around = (s: string) => s): Buffer =>
  Buffer.from(around(open.repeat(n) + close.repeat(n)));

const hostile = (): Buffer[] => [
  deepJson(100_000, '[', ']'),
  deepJson(100_000, '[', ']', (s) => `{"series":${s}}`),
  deepJson(
    50_000,
    '{"a":',
    '}',
    (s) => `{"series":[{"labels":[${s.replace(/}+$/, '')}1${'}'.repeat(50_000)}]}]}`,
  ),
  Buffer.from(`{"series":[{"labels":[{"name":"${'x'.repeat(100_000)}","value":1}]}]}`),
  Buffer.from(
    `{"profileTypeID":"a:b:c:d:e","labelSelector":"{k=~\\"(a+)+\\"}","start":"1","end":"99999999999999999999"}`,
  ),
  Buffer.from(`{"labelSelector":"{k=~\\"(\\"}"}`),
  gzipSync(Buffer.alloc(1 << 20)).subarray(0, 5_000),
  Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff]),
];

const paths = [
  '/ingest',
  '/pyroscope/ingest',
  '/push.v1.PusherService/Push',
  '/v1development/profiles',
  '/querier.v1.QuerierService/SelectMergeStacktraces',
  '/querier.v1.QuerierService/SelectMergeProfile',
  '/querier.v1.QuerierService/SelectSeries',
  '/querier.v1.QuerierService/Series',
  '/querier.v1.QuerierService/LabelValues',
  '/querier.v1.QuerierService/LabelNames',
  '/querier.v1.QuerierService/ProfileTypes',
  '/querier.v1.QuerierService/Diff',
  '/querier.v1.QuerierService/SelectHeatmap',
  '/querier.v1.QuerierService/GetProfileStats',
  '/querier.v1.QuerierService/__proto__',
  '/api/v1/fleet',
  '/v1/traces',
  '/otel/v1/traces',
  '/v1/metrics',
  '/otel/v1/logs',
  '/api/traces/0af7651916cd43dd8448eb211c80319c',
  '/api/v2/traces/zz',
  '/api/search',
  '/api/search/tags',
  '/api/v2/search/tag/resource.service.name/values',
  '/healthz',
  '/readyz',
  '/metrics',
  '/',
  '/nope/%ff%fe',
];

const queryParam = fc.oneof(
  fc.constantFrom(
    'name',
    'from',
    'until',
    'format',
    'sampleRate',
    'spyName',
    'units',
    'aggregationType',
  ),
  fc.string({ maxLength: 8 }),
);
const queryValue = fc.oneof(
  fc.constantFrom(
    'app.cpu',
    'app.cpu{env=dev,a=b}',
    'app{',
    '{}',
    'pprof',
    'jfr',
    'trie',
    'tree',
    'lines',
    'speedscope',
    '0',
    '-1',
    '4294967296',
    '99999999999999999999999',
    'now-1h',
    '1e309',
    '',
  ),
  fc.string({ maxLength: 40 }),
  fc.stringMatching(/^[a-z]{1,8}\.(cpu|alloc_objects|inuse_space)\{[a-z]{1,4}=[^,}]{0,6}\}$/),
);

const contentType = fc.oneof(
  fc.constantFrom(
    '',
    'application/octet-stream',
    'application/json',
    'application/proto',
    'application/x-protobuf',
    'binary/octet-stream+trie',
    'binary/octet-stream+tree',
    `multipart/form-data; boundary=${GO_BOUNDARY}`,
    'multipart/form-data; boundary=',
    'multipart/form-data',
    'text/plain; charset=%%%',
  ),
  fc.string({ maxLength: 30 }),
);

function mutate(b: Buffer, flips: number[], cut: number): Buffer {
  const out = Buffer.from(b.subarray(0, Math.max(0, b.length - cut)));
  for (const f of flips) if (out.length > 0) out[f % out.length] ^= 1 + (f % 255);
  return out;
}

describe('HTTP fuzz: no input gets a 5xx other than 503', () => {
  let app: RunningEmberflow;
  let base: string;
  let bodies: Buffer[];
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ember-fuzz-'));
    writeFileSync(
      join(dir, 'config.yaml'),
      'tenants:\n  acme:\n    credentials:\n      - bearer: s3cret\n',
    );
    bodies = [...fixtures(), ...hostile()];
    ({ app, base } = await listenOnFreePort(async (port) => {
      const a = await bootstrap({
        env: {
          EMBER_HTTP_PORT: String(port),
          EMBER_GRPC_PORT: 'off',
          EMBER_HTTP_HOST: '127.0.0.1',
          EMBER_DATA_DIR: dir,
          EMBER_CONFIG: join(dir, 'config.yaml'),
          EMBER_LOG_LEVEL: 'error',
          EMBER_DECODE_WORKERS: '0',
          // a loaded test machine lags; these tests are about the budget, not CPU shedding
          EMBER_INGEST_MAX_EVENT_LOOP_DELAY: '0',
        },
      });
      return { app: a, base: `http://127.0.0.1:${port}` };
    }));
  });
  after(async () => {
    await app.close();
  });

  it('answers hostile bodies on every route with 4xx (regression: JSON nested 100,000 deep got 500)', async () => {
    for (const path of [
      '/push.v1.PusherService/Push',
      '/v1development/profiles',
      '/querier.v1.QuerierService/Series',
    ]) {
      for (const body of hostile()) {
        const r = await fetch(`${base}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        const text = await r.text();
        assert.ok(r.status < 500 || r.status === 503, `${path}: ${r.status} ${text.slice(0, 200)}`);
      }
    }
    const nested = await fetch(`${base}/push.v1.PusherService/Push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: deepJson(100_000, '[', ']'),
    });
    assert.equal(nested.status, 400);
    assert.match(await nested.text(), /exceeded max recursion depth/);
  });

  it(`answers ${RUNS} random and mutated requests with no 5xx but 503 (seed ${SEED})`, async () => {
    const request = fc.record({
      method: fc.constantFrom('POST', 'POST', 'POST', 'GET', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'),
      path: fc.oneof(fc.constantFrom(...paths), fc.webPath()),
      query: fc.array(fc.tuple(queryParam, queryValue), { maxLength: 6 }),
      contentType,
      encoding: fc.constantFrom('', '', 'gzip', 'deflate', 'br', 'x'),
      tenant: fc.constantFrom(undefined, 'acme', 'team-a', 'bad tenant', 'x'.repeat(200), ''),
      auth: fc.constantFrom(undefined, 'Bearer s3cret', 'bearer s3cret', 'Basic !!', 'Bearer', 'x'),
      body: fc.oneof(
        fc.uint8Array({ maxLength: 2048 }).map((a) => Buffer.from(a)),
        fc
          .tuple(fc.nat({ max: 1_000 }), fc.array(fc.nat(), { maxLength: 8 }), fc.nat({ max: 64 }))
          .map(([i, flips, cut]) => mutate(bodies[i % bodies.length], flips, cut)),
        fc.json({ maxDepth: 6 }).map((j) => Buffer.from(j)),
      ),
      gzipBody: fc.boolean(),
    });
    const failures: string[] = [];
    await fc
      .assert(
        fc.asyncProperty(request, async (q) => {
          const url = new URL(base + (q.path.startsWith('/') ? q.path : `/${q.path}`));
          for (const [k, v] of q.query) url.searchParams.append(k, v);
          const headers: Record<string, string> = {};
          if (q.contentType) headers['content-type'] = q.contentType;
          if (q.encoding) headers['content-encoding'] = q.encoding;
          if (q.tenant !== undefined) headers['x-scope-orgid'] = q.tenant;
          if (q.auth) headers.authorization = q.auth;
          const withBody = !['GET', 'HEAD'].includes(q.method);
          const body = q.gzipBody && q.encoding === 'gzip' ? gzipSync(q.body) : q.body;
          let status: number;
          let text: string;
          try {
            const r = await fetch(url, {
              method: q.method,
              headers,
              body: withBody ? body : undefined,
              signal: AbortSignal.timeout(30_000),
            });
            status = r.status;
            text = await r.text();
          } catch (err) {
            failures.push(`${q.method} ${url.pathname}: no answer (${(err as Error).message})`);
            return false;
          }
          if (status >= 500 && status !== 503) {
            failures.push(
              `${q.method} ${url.pathname}${url.search.slice(0, 120)} -> ${status} ${text.slice(0, 200)}`,
            );
            return false;
          }
          return true;
        }),
        { seed: SEED, numRuns: RUNS, endOnFailure: true },
      )
      .catch((err: Error) => {
        throw new Error(`${failures.join('\n')}\n${err.message.slice(0, 2000)}`);
      });
    // and the process is still there
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
  });
});
