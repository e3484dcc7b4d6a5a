import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ProfileBuilder, encodePprof } from '../../model/index.js';
import { goPprofForm, pushRequest, rawUpload } from '../../../test/support/agent-requests.js';
import { fixturePath } from '../../../test/support/paths.js';
import { startConformanceApp, type ConformanceApp } from './testing.js';

// Issue 15, item 8: the ingestion window. Pyroscope refuses a profile older than
// validation.reject-older-than (1 h by default) or newer than reject-newer-than with
// not_in_ingestion_window (`pkg/validation/validate.go` ingestionWindow, ValidateProfile): 422
// on /ingest, 400 on Push. Here it is a per-tenant limit (limits.rejectOlderThan /
// rejectNewerThan), off by default so the embedded store keeps taking backfill.

const HEAP = (): Buffer => readFileSync(fixturePath('pyroscope', 'pprof', 'heap.pb.gz')); // 2021
const CONFIG = `
tenants:
  strict:
    limits:
      rejectOlderThan: 1h
      rejectNewerThan: 10m
`;
const strict = { 'x-scope-orgid': 'strict' };

const cpuAt = (ms: number): Buffer => {
  const b = new ProfileBuilder().sampleType('cpu', 'nanoseconds').period('cpu', 'nanoseconds', 1);
  b.time(BigInt(ms) * 1_000_000n, 0);
  b.stack(['main'], [5]);
  return Buffer.from(encodePprof(b.build()));
};

describe('Pyroscope ingestion window (issue 15: item 8)', () => {
  let app: ConformanceApp;
  before(async () => {
    app = await startConformanceApp(CONFIG);
  });
  after(() => app.close());

  it('by default (the embedded store) a 2021 profile is accepted and stored: backfill', async () => {
    const r = goPprofForm('backfill', HEAP());
    const up = await app.upload(r.path, r.query, r.headers, r.body);
    assert.equal(up.status, 200, up.text);
    await app.waitForSeries('{service_name="backfill"}');
  });

  it('a tenant with rejectOlderThan: 1h gets 422 on /ingest with not_in_ingestion_window', async () => {
    const r = goPprofForm('old', HEAP());
    const up = await app.upload(r.path, r.query, { ...r.headers, ...strict }, r.body);
    assert.equal(up.status, 422, up.text);
    const body = JSON.parse(up.text) as { message: string };
    assert.match(
      body.message,
      /^profile with labels '\{service_name="old"\}' is outside of ingestion window \(profile timestamp: 2021-12-31 09:15:10\.146 \+0000 UTC, the ingestion window starts at \d{4}-\d\d-\d\d [\d:.]+ \+0000 UTC and ends at .+\)$/,
    );
    const metrics = await (await fetch(`${app.base}/metrics`)).text();
    assert.match(
      metrics,
      /emberflow_discarded_profiles_total\{reason="not_in_ingestion_window",tenant="strict"\} 1/,
    );
  });

  it('... 400 on Push, also for a profile too far ahead; a current one is 200', async () => {
    const push = (pprof: Buffer) => {
      const r = pushRequest(
        { __name__: 'process_cpu', service_name: 'win' },
        pprof,
        'proto',
        false,
      );
      return app.upload(r.path, r.query, { ...r.headers, ...strict }, r.body);
    };
    const old = await push(cpuAt(Date.now() - 2 * 3600_000));
    assert.equal(old.status, 400, old.text);
    assert.equal((JSON.parse(old.text) as { code: string }).code, 'invalid_argument');
    assert.match(old.text, /outside of ingestion window/);
    const ahead = await push(cpuAt(Date.now() + 3600_000));
    assert.equal(ahead.status, 400, ahead.text);
    assert.equal((await push(cpuAt(Date.now() - 60_000))).status, 200);
    await app.waitForSeries('{service_name="win"}', 'strict');
  });

  it('a format ingest cannot date (folded, from= 2021) is dead-lettered by the decoder with the reason', async () => {
    const discarded = async (): Promise<number> => {
      const metrics = await (await fetch(`${app.base}/metrics`)).text();
      const m =
        /emberflow_discarded_profiles_total\{reason="not_in_ingestion_window",tenant="strict"\} (\d+)/.exec(
          metrics,
        );
      return m ? Number(m[1]) : 0;
    };
    const before = await discarded();
    const r = rawUpload('oldfolded', undefined, Buffer.from('main;work 3\n'));
    r.query.from = '1640942110';
    r.query.until = '1640942120';
    const up = await app.upload(r.path, r.query, { ...r.headers, ...strict }, r.body);
    assert.equal(up.status, 200, up.text);
    for (let i = 0; i < 400; i++) {
      if ((await discarded()) === before + 1) return;
      await new Promise((res) => setTimeout(res, 25));
    }
    assert.fail('the folded upload was not discarded as not_in_ingestion_window');
  });
});
