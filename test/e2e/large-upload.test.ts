import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { ProfileBuilder, encodePprof } from '../../libs/model/index.js';
import { encodePushRequest, type PushRequest } from '../../libs/protocol/index.js';
import { rawUpload, send } from '../support/agent-requests.js';
import { startEmberflow, type EmberProcess } from '../support/emberflow-process.js';
import { fixturePath } from '../support/paths.js';
import { selectMergeStacktraces, waitFor } from '../support/query-client.js';
import { suiteEnv } from '../support/services.js';

// An upload far above Kafka's 1 MiB default message size (ADR 0005) goes through ingest, the
// real broker, the decoder and the exporter intact: the CPU total read back equals the
// jfr-parser golden for the same recording.

function goldenTotal(file: string): number {
  const text = gunzipSync(readFileSync(fixturePath('bench', 'golden', file))).toString('utf8');
  let total = 0;
  for (const line of text.split('\n')) {
    const m = /\[(\d+)\]\s*$/.exec(line);
    if (m) total += Number(m[1]);
  }
  return total;
}

describe('large uploads pass end to end (real Kafka and Redis)', () => {
  let app: EmberProcess;
  before(async () => {
    app = await startEmberflow({ targets: 'ingest,decoder,exporter', env: suiteEnv() });
  });
  after(async () => {
    await app?.stop();
  });

  it('accepts the raw recording and stores what jfr-parser produces for it', async () => {
    const jfr = gunzipSync(readFileSync(fixturePath('bench', 'async-profiler.jfr.gz')));
    assert.ok(jfr.length > 3 * 1024 * 1024, `${jfr.length} bytes`);
    const req = rawUpload('large.java', 'jfr', jfr);
    // the goldens were produced for this window and rate
    req.query.from = '1706241880';
    req.query.until = '1706241890';
    req.query.sampleRate = '100';
    const r = await send(app.url, req);
    assert.equal(r.status, 200, await r.text());
    const expected = goldenTotal(
      'async-profiler_2_process_cpu_cpu__nanoseconds_expected_collapsed.txt.gz',
    );
    const fg = await waitFor('the recording in the store', 120_000, async () => {
      const a = await selectMergeStacktraces(app.url, {
        profileTypeID: 'process_cpu:cpu:nanoseconds:cpu:nanoseconds',
        labelSelector: '{service_name="large.java"}',
        start: 1706241880_000 - 60_000,
        end: 1706241890_000 + 60_000,
      });
      return a.flamegraph.total !== '0' ? a : undefined;
    });
    assert.equal(Number(fg.flamegraph.total), expected);
  });

  // A Push of many profiles is decoded in units of a few thousand (decode.service.ts), each
  // published before the next is decoded; across the real broker every series arrives once.
  it('stores every series of a Push of 10,000 profiles', async () => {
    const now = BigInt(Date.now()) * 1_000_000n;
    const service = `many-series-${Date.now()}`;
    const n = 10_000;
    const req: PushRequest = { series: [] };
    let want = 0;
    for (let i = 0; i < n; i++) {
      const value = 1_000_000 + i;
      want += value;
      const b = new ProfileBuilder()
        .sampleType('cpu', 'nanoseconds')
        .period('cpu', 'nanoseconds', 10_000_000)
        .time(now, 10_000_000_000n)
        .stack(['main', `work${i % 50}`], [value]);
      req.series.push({
        labels: [
          { name: '__name__', value: 'process_cpu' },
          { name: 'service_name', value: service },
          { name: 'instance', value: `i-${i}` },
        ],
        samples: [{ rawProfile: gzipSync(encodePprof(b.build())), id: '' }],
        annotations: [],
      });
    }
    const r = await send(app.url, {
      way: 'Push of many profiles',
      path: '/push.v1.PusherService/Push',
      query: {},
      headers: { 'content-type': 'application/proto', 'connect-protocol-version': '1' },
      body: Buffer.from(encodePushRequest(req)),
    });
    assert.equal(r.status, 200, await r.text());
    const startMs = Number(now / 1_000_000n);
    const fg = await waitFor('every series in the store', 120_000, async () => {
      const a = await selectMergeStacktraces(app.url, {
        profileTypeID: 'process_cpu:cpu:nanoseconds:cpu:nanoseconds',
        labelSelector: `{service_name="${service}"}`,
        start: startMs - 60_000,
        end: startMs + 60_000,
      });
      return Number(a.flamegraph.total) >= want ? a : undefined;
    });
    assert.equal(Number(fg.flamegraph.total), want);
  });
});
