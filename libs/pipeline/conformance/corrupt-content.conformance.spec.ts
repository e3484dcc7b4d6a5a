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
// function id 0, string indices) and of the proto unmarshal (truncated data, a known field with
// the wrong wire type). The .NET fix of
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

  it('a known pprof field with the wrong wire type: 422 on /ingest, 400 on Push, Go’s message', async () => {
    // cpu.pb.gz with one more field at the front: Profile.time_nanos (9, a varint) sent as
    // fixed32. Go's unmarshal (Pyroscope's RawFromBytes) refuses it before any validation.
    const whole = gunzipSync(fixture('pprof', 'cpu.pb.gz'));
    const bad = gzipSync(Buffer.concat([Buffer.from([(9 << 3) | 5, 1, 2, 3, 4]), whole]));
    const want = 'proto: wrong wireType = 5 for field TimeNanos';
    const raw = await send(rawUpload('wireapp', 'pprof', bad));
    assert.equal(raw.status, 422, raw.text);
    assert.match(raw.text, new RegExp(want));
    const form = await send(goPprofForm('wireapp', bad));
    assert.equal(form.status, 422, form.text);
    assert.match(form.text, new RegExp(want));
    const p = await push(bad);
    assert.equal(p.status, 400, p.text);
    const body = JSON.parse(p.text) as { code: string; message: string };
    assert.equal(body.code, 'invalid_argument');
    assert.equal(body.message, want);
    // inside a nested message too (a Sample's label as a varint), and a sample of one varint
    // per location id and value (unpacked, as Go accepts it; cpu.pb.gz has two sample types)
    // is not a wrong wire type
    const nested = gzipSync(
      Buffer.concat([whole, Buffer.from([0x12, 0x04, 0x08, 0x01, 0x18, 0x01])]),
    );
    const n = await push(nested);
    assert.equal(n.status, 400, n.text);
    assert.equal(
      (JSON.parse(n.text) as { message: string }).message,
      'proto: wrong wireType = 0 for field Label',
    );
    const unpacked = gzipSync(
      Buffer.concat([whole, Buffer.from([0x12, 0x06, 0x08, 0x01, 0x10, 0x05, 0x10, 0x06])]),
    );
    const u = await push(unpacked);
    assert.equal(u.status, 200, u.text);
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
