import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import {
  goPprofForm,
  javaJfrForm,
  pushRequest,
  rawUpload,
} from '../../../test/support/agent-requests.js';
import { fixturePath } from '../../../test/support/paths.js';
import { startConformanceApp, type ConformanceApp } from './testing.js';

// Issue 15, item 7: corrupt content is refused to the agent, synchronously. Pyroscope answers
// an invalid pprof with 422 on /ingest (`pkg/ingester/pyroscope/ingest_handler.go`) and 400 on
// Push, with the messages of `pkg/validation/validate.go` ValidateProfile (invalid UTF-8,
// function id 0, string indices) and of the proto unmarshal (truncated data). The .NET fix of
// /ingest (`pkg/og/convert/pprof/profile.go` FixFunctionIDForBrokenDotnet) runs first there.

const fixture = (...p: string[]): Buffer => readFileSync(fixturePath('pyroscope', ...p));

describe('corrupt content refused at ingest (issue 15: item 7)', () => {
  let app: ConformanceApp;
  before(async () => {
    app = await startConformanceApp();
  });
  after(() => app.close());

  const send = (r: {
    path: string;
    query: Record<string, string>;
    headers: Record<string, string>;
    body: Buffer;
  }) => app.upload(r.path, r.query, r.headers, r.body);
  const push = (pprof: Buffer) =>
    send(pushRequest({ __name__: 'process_cpu', service_name: 'bad' }, pprof, 'proto', false));

  it('invalid UTF-8 in the string table: 422 on /ingest (raw and form), 400 on Push', async () => {
    const pb = fixture('pprof', 'invalid_utf8.pb.gz');
    const raw = await send(rawUpload('utf8app', 'pprof', pb));
    assert.equal(raw.status, 422, raw.text);
    assert.match(raw.text, /invalid utf8 string hex: [0-9a-f]+/);
    const form = await send(goPprofForm('utf8app', pb));
    assert.equal(form.status, 422, form.text);
    const p = await push(pb);
    assert.equal(p.status, 400, p.text);
    const body = JSON.parse(p.text) as { code: string; message: string };
    assert.equal(body.code, 'invalid_argument');
    assert.match(body.message, /^invalid utf8 string hex: /);
  });

  it('function id 0 (dotnet-pprof-3): /ingest with dotnetspy 200 (fixed first), Push 400', async () => {
    const pb = fixture('pprof', 'dotnet-pprof-3.pb.gz');
    const form = goPprofForm('dotnet3', pb, fixture('pprof', 'dotnet-pprof-3.st.json'));
    form.query.spyName = 'dotnetspy';
    const ok = await send(form);
    assert.equal(ok.status, 200, ok.text);
    const p = await push(pb);
    assert.equal(p.status, 400, p.text);
    assert.equal((JSON.parse(p.text) as { message: string }).message, 'function id is 0');
    // without the .NET spy there is no fix: Pyroscope refuses it on /ingest too
    const go = await send(goPprofForm('notdotnet', pb));
    assert.equal(go.status, 422, go.text);
    assert.match(go.text, /function id is 0/);
  });

  it('truncated pprof: 422 on /ingest, 400 on Push; the whole profile is still 200', async () => {
    const whole = gunzipSync(fixture('pprof', 'cpu.pb.gz'));
    const cut = whole.subarray(0, whole.length - 7);
    const raw = await send(rawUpload('cutapp', 'pprof', gzipSync(cut)));
    assert.equal(raw.status, 422, raw.text);
    assert.match(raw.text, /unexpected EOF/);
    const p = await push(gzipSync(cut));
    assert.equal(p.status, 400, p.text);
    const fine = await send(rawUpload('cutapp', 'pprof', gzipSync(whole)));
    assert.equal(fine.status, 200, fine.text);
  });

  it('JFR with a broken chunk header or a truncated chunk: 422; the recording itself 200', async () => {
    const jfr = gunzipSync(fixture('jfr', 'cortex-dev-01__kafka-0__cpu__0.jfr.gz'));
    const badMagic = Buffer.from(jfr);
    badMagic[0] = 0x58;
    const r1 = await send(javaJfrForm('jfrbad', badMagic));
    assert.equal(r1.status, 422, r1.text);
    assert.match(r1.text, /invalid chunk magic/);
    const r2 = await send(javaJfrForm('jfrbad', jfr.subarray(0, jfr.length - 100)));
    assert.equal(r2.status, 422, r2.text);
    assert.match(r2.text, /unexpected end of chunk/);
    const ok = await send(javaJfrForm('jfrgood', jfr));
    assert.equal(ok.status, 200, ok.text);
    await app.waitForSeries('{service_name="jfrgood"}');
  });
});
