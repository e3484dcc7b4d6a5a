import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createGzip, gunzipSync, gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import {
  KafkaBroker,
  TOPICS,
  type IncomingMessage,
  type Subscription,
} from '../../libs/queue/index.js';
import {
  goPprofForm,
  javaJfrForm,
  multipartBody,
  pushRequest,
  rawUpload,
  send,
  type AgentRequest,
} from '../support/agent-requests.js';
import { ProfileBuilder, encodePprof } from '../../libs/model/index.js';
import { startEmberflow, type EmberProcess } from '../support/emberflow-process.js';
import { fixturePath } from '../support/paths.js';
import { waitFor } from '../support/query-client.js';
import { suiteEnv, testServices } from '../support/services.js';

// Bad input, on the real broker: envelope errors are answered at ingest with Pyroscope's status
// and a JSON body that says what to change; content errors are accepted (ingest does not decode)
// and land in profiles.raw.v1.dlq with their reason. The process never crashes, and a gzip bomb
// costs no memory.

const MAX_BODY = 4 * 1024 * 1024;

/** gzip of `size` zero bytes, streamed so the test itself never holds the inflated data */
async function gzipBomb(size: number): Promise<Buffer> {
  const gz = createGzip({ level: 9 });
  const out: Buffer[] = [];
  gz.on('data', (d: Buffer) => out.push(d));
  const done = new Promise((r) => gz.on('end', r));
  const chunk = Buffer.alloc(1 << 20);
  for (let written = 0; written < size; written += chunk.length) {
    if (!gz.write(chunk)) await new Promise((r) => gz.once('drain', r));
  }
  gz.end();
  await done;
  return Buffer.concat(out);
}

async function rss(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /^emberflow_process_resident_memory_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)/m.exec(text);
  assert.ok(m, 'resident memory metric present');
  return Number(m[1]);
}

describe('bad input is answered clearly and never crashes anything (real Kafka and Redis)', () => {
  const svc = testServices();
  const run = randomUUID().slice(0, 8);
  let app: EmberProcess;
  let broker: KafkaBroker;
  let sub: Subscription;
  const dead = new Map<string, IncomingMessage[]>();
  let bomb: Buffer;

  before(async () => {
    const env = suiteEnv({ EMBER_MAX_BODY_BYTES: String(MAX_BODY) });
    app = await startEmberflow({
      targets: 'all',
      env,
    });
    broker = new KafkaBroker({
      brokers: svc.kafkaBrokers.split(','),
      clientId: 'bad-input-test',
      requestTimeoutMs: 30_000,
      maxBytesPerPartition: 8 * 1024 * 1024,
      sessionTimeoutMs: 10_000,
      namespace: env.EMBER_NAMESPACE,
      log: () => {},
    });
    sub = await broker.subscribe({
      groupId: `bad-input-${run}`,
      topic: TOPICS.rawDlq,
      maxBatchSize: 100,
      handler: async (b) => {
        for (const m of b.messages) {
          const t = m.headers['ember-tenant'] ?? '';
          if (t.startsWith(`b-${run}-`)) dead.set(t, [...(dead.get(t) ?? []), m]);
        }
      },
    });
    bomb = await gzipBomb(1 << 30);
  });
  after(async () => {
    await sub?.close();
    await broker?.close();
    await app?.stop();
  });

  const tenant = (name: string): Record<string, string> => ({
    'x-scope-orgid': `b-${run}-${name}`,
  });

  async function expectError(r: Response, status: number, message: RegExp): Promise<void> {
    const text = await r.text();
    assert.equal(r.status, status, text);
    const body = JSON.parse(text) as { code: string; message: string };
    assert.equal(typeof body.code, 'string');
    assert.match(body.message, message);
  }

  it('rejects malformed names with 400 and the reason', async () => {
    const r1 = await send(app.url, rawUpload('', undefined, Buffer.from('a 1')));
    await expectError(r1, 400, /^name: /);
    const r2 = await send(app.url, rawUpload('my app', undefined, Buffer.from('a 1')));
    await expectError(r2, 400, /invalid service name.*not allowed/);
    const r3 = await send(app.url, rawUpload('app{a,b=1}', undefined, Buffer.from('a 1')));
    await expectError(r3, 400, /invalid label name/);
  });

  it('rejects an oversize body with 413 and names the limit', { timeout: 30_000 }, async () => {
    // node:http, not fetch: the server answers 413 from the Content-Length alone, before reading
    // the body, and closes the connection, as it should. So send the headers first and the body
    // only if no answer came: an HTTP client must read that early answer (Go's does).
    const size = MAX_BODY + 1024;
    const { status, text } = await new Promise<{ status: number; text: string }>(
      (resolve, reject) => {
        const req = request(`${app.url}/ingest?name=app.cpu&format=pprof`, {
          method: 'POST',
          headers: { 'content-length': String(size), 'content-type': 'application/octet-stream' },
        });
        let answered = false;
        req.on('response', (res) => {
          answered = true;
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => {
            resolve({ status: res.statusCode ?? 0, text });
            req.destroy();
          });
        });
        req.on('error', (err: NodeJS.ErrnoException) => {
          if (!answered && err.code !== 'EPIPE' && err.code !== 'ECONNRESET') reject(err);
          if (!answered)
            setTimeout(
              () => reject(new Error(`connection closed without an answer (${err.code})`)),
              2000,
            );
        });
        req.flushHeaders();
        setTimeout(() => {
          if (!answered) req.end(Buffer.alloc(size, 7));
        }, 1000);
      },
    );
    assert.equal(status, 413, text);
    const body = JSON.parse(text) as { code: string; message: string };
    assert.equal(body.code, 'resource_exhausted');
    assert.match(body.message, /request body too large.*EMBER_MAX_BODY_BYTES/);
  });

  it('never inflates a gzip bomb past the limit (1 GiB inflated, memory stays flat)', async () => {
    assert.ok(bomb.length < MAX_BODY, `bomb is ${bomb.length} bytes`);
    const before = await rss(app.url);
    // Content-Encoding: gzip on a form: ingest inflates it to check the envelope, bounded
    const form = goPprofForm('bomb.cpu', Buffer.from('x'));
    const r1 = await send(
      app.url,
      { ...form, body: bomb, headers: { ...form.headers, 'content-encoding': 'gzip' } },
      tenant('bomb1'),
    );
    assert.ok(r1.status >= 400 && r1.status < 500, `form bomb answered ${r1.status}`);
    assert.match(await r1.text(), /exceeds maximum allowed size/);
    // gzip Push body: bounded by the body limit
    const push = pushRequest({ service_name: 'bomb' }, Buffer.from('x'), 'proto', false);
    const r2 = await send(
      app.url,
      { ...push, body: bomb, headers: { ...push.headers, 'content-encoding': 'gzip' } },
      tenant('bomb2'),
    );
    assert.ok(r2.status === 429 || r2.status === 400, `push bomb answered ${r2.status}`);
    // a raw gzip pprof: accepted (ingest does not decode), then the decoder stops at 4 MiB
    const r3 = await send(app.url, rawUpload('bomb.cpu', 'pprof', bomb), tenant('bomb3'));
    assert.equal(r3.status, 200);
    const d = await waitFor('the bomb in the DLQ', 30_000, async () => dead.get(`b-${run}-bomb3`));
    assert.equal(d[0].headers['ember-dlq-reason'], 'profile_size_limit');
    const afterRss = await rss(app.url);
    const growth = afterRss - before;
    console.log(
      `# gzip bomb: RSS ${Math.round(before / 2 ** 20)} MiB -> ${Math.round(afterRss / 2 ** 20)} MiB`,
    );
    assert.ok(
      growth < 150 * 2 ** 20,
      `RSS grew by ${Math.round(growth / 2 ** 20)} MiB (bound: 150 MiB)`,
    );
  });

  it('answers truncated gzip and broken multipart with 422', async () => {
    const form = goPprofForm('trunc.cpu', Buffer.from('x'));
    const truncated = gzipSync(form.body).subarray(0, 40);
    const r1 = await send(app.url, {
      ...form,
      body: truncated,
      headers: { ...form.headers, 'content-encoding': 'gzip' },
    });
    assert.equal(r1.status, 422, await r1.text());
    const r2 = await send(app.url, { ...form, headers: { 'content-type': 'multipart/form-data' } });
    await expectError(r2, 422, /multipart|boundary/);
    const r3 = await send(app.url, {
      ...form,
      headers: { 'content-type': 'multipart/form-data; boundary=not-the-one' },
    });
    assert.equal(r3.status, 422, await r3.text());
    const { body, contentType } = multipartBody([
      { name: 'labels', filename: 'labels', data: Buffer.from('x') },
    ]);
    const r4 = await send(app.url, {
      ...rawUpload('java.app', 'jfr', body),
      headers: { 'content-type': contentType },
    });
    await expectError(r4, 422, /jfr field is required/);
    const prev = multipartBody([
      { name: 'profile', filename: 'profile.pprof', data: Buffer.from('x') },
      { name: 'prev_profile', filename: 'profile.pprof', data: Buffer.from('x') },
    ]);
    const r5 = await send(app.url, {
      ...rawUpload('go.app', undefined, prev.body),
      headers: { 'content-type': prev.contentType },
    });
    await expectError(r5, 422, /unsupported client version/);
  });

  it('answers wrong methods with 405 and wrong Push content types with 415', async () => {
    assert.equal((await fetch(`${app.url}/ingest?name=a`)).status, 405);
    assert.equal(
      (await fetch(`${app.url}/pyroscope/ingest?name=a`, { method: 'PUT', body: 'x' })).status,
      405,
    );
    const r = await fetch(`${app.url}/push.v1.PusherService/Push`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'x',
    });
    assert.equal(r.status, 415);
    assert.match(r.headers.get('accept-post') ?? '', /application\/proto/);
    const bad = await fetch(`${app.url}/push.v1.PusherService/Push`, {
      method: 'POST',
      headers: { 'content-type': 'application/proto' },
      body: Buffer.from([0xff, 0xff, 0xff]),
    });
    await expectError(bad, 400, /unmarshal/);
  });

  it('treats an unknown format like Pyroscope (default folded dispatch) and accepts it', async () => {
    const r = await send(app.url, rawUpload('fmt.cpu', 'folded', Buffer.from('a;b 1\n')));
    assert.equal(r.status, 200);
  });

  // Updated for issue 15 (item 7): these four used to be answered 200 and dead-lettered later,
  // so the agent never learnt; Pyroscope refuses them at once (422 on /ingest), and so does
  // the ingest-time structural scan now (ADR 0013). Only what a full decode finds still goes
  // to the DLQ: the next test.
  it('refuses corrupt pprof, corrupt JFR and invalid UTF-8 with 422 and the reason, at once', async () => {
    const cases: [string, AgentRequest, RegExp][] = [
      [
        'pprof',
        rawUpload('bad.cpu', 'pprof', Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x01, 0x02])),
        /gzip reset: unexpected EOF|unexpected EOF/,
      ],
      [
        'utf8',
        rawUpload(
          'bad.cpu',
          'pprof',
          readFileSync(fixturePath('pyroscope', 'pprof', 'invalid_utf8.pb.gz')),
        ),
        /invalid utf8 string hex: /,
      ],
      [
        'jfr',
        javaJfrForm('bad.java', Buffer.concat([Buffer.from('FLR\0'), Buffer.alloc(200, 0xee)])),
        /JFR version/,
      ],
      [
        'jfrtrunc',
        rawUpload(
          'bad.java',
          'jfr',
          gunzipSync(readFileSync(fixturePath('pyroscope', 'jfr', 'dump1.jfr.gz'))).subarray(
            0,
            5000,
          ),
        ),
        /unexpected end of chunk/,
      ],
    ];
    for (const [name, req, message] of cases) {
      const r = await send(app.url, req, tenant(name));
      await expectError(r, 422, message);
    }
    // the agent's last error is in the fleet view of its tenant (stage ingest)
    const agent = await waitFor('the refusal in the fleet view', 10_000, async () => {
      const fleet = (await (
        await fetch(`${app.url}/api/v1/fleet`, { headers: tenant('utf8') })
      ).json()) as {
        agents: { service: string; lastError: { stage: string; message: string } | null }[];
      };
      return fleet.agents.find((a) => a.service === 'bad.cpu' && a.lastError);
    });
    assert.equal(agent.lastError?.stage, 'ingest');
    assert.match(agent.lastError?.message ?? '', /utf8/i);
  });

  it('dead-letters what only a full decode finds (a JFR event region, a sample value count) with its reason', async () => {
    // a recording whose chunk header is sound but whose metadata event is garbage
    const jfr = gunzipSync(readFileSync(fixturePath('pyroscope', 'jfr', 'dump1.jfr.gz')));
    const metadataOffset = Number(jfr.readBigUInt64BE(24));
    jfr.fill(0xee, metadataOffset, metadataOffset + 64);
    // a pprof whose one sample has two values for one sample type
    const p = new ProfileBuilder().sampleType('cpu', 'nanoseconds').stack(['main'], [1]).build();
    p.sample[0].value.push(2);
    const cases: [string, AgentRequest, string][] = [
      ['jfrevents', javaJfrForm('bad.java', jfr), 'malformed_profile'],
      ['values', rawUpload('bad.cpu', 'pprof', gzipSync(encodePprof(p))), 'malformed_profile'],
    ];
    for (const [name, req] of cases) {
      const r = await send(app.url, req, tenant(name));
      assert.equal(r.status, 200, `${name}: ${await r.text()}`);
    }
    for (const [name, , reason] of cases) {
      const d = await waitFor(`${name} in the DLQ`, 30_000, async () =>
        dead.get(`b-${run}-${name}`),
      );
      assert.equal(d.length, 1);
      assert.equal(
        d[0].headers['ember-dlq-reason'],
        reason,
        `${name}: ${d[0].headers['ember-dlq-message']}`,
      );
      assert.ok((d[0].headers['ember-dlq-message'] ?? '').length > 0);
      assert.equal(d[0].headers['ember-dlq-source-topic'], TOPICS.raw);
    }
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    assert.match(metrics, /emberflow_discarded_profiles_total\{reason="malformed_profile"/);
    // the agent's last error is in the fleet view of its tenant, and only there
    const fleet = (await (
      await fetch(`${app.url}/api/v1/fleet`, { headers: tenant('values') })
    ).json()) as {
      agents: { service: string; lastError: { stage: string; message: string } | null }[];
    };
    const agent = fleet.agents.find((a) => a.service === 'bad.cpu');
    assert.ok(agent, JSON.stringify(fleet));
    assert.equal(agent.lastError?.stage, 'decoder');
    assert.match(agent.lastError?.message ?? '', /sample value length mismatch/);
    const other = (await (
      await fetch(`${app.url}/api/v1/fleet`, { headers: tenant('nobody') })
    ).json()) as {
      agents: unknown[];
    };
    assert.equal(other.agents.length, 0);
  });

  it('is still alive and ready after all of it', async () => {
    assert.equal((await fetch(`${app.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${app.url}/readyz`)).status, 200);
  });
});
