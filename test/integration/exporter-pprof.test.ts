import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ProtoWriter } from '../../libs/protocol/index.js';
import { CPU, cpuSeries, startReadApp, type ReadApp } from '../../libs/pipeline/query/testing.js';

// SelectMergeProfile answers a pprof that `go tool pprof` (the Go toolchain's own reader) opens,
// with the merged sample total and frames. Needs `go` on PATH (the Go toolchain is part of the
// test environment: bench/go-jfr uses it too).

const exec = promisify(execFile);

describe('SelectMergeProfile opens in go tool pprof', () => {
  let app: ReadApp;
  const T0 = Date.now() - 120_000;
  before(async () => {
    app = await startReadApp();
    await app.store.send([
      cpuSeries({
        labels: { service_name: 'go-check' },
        stacks: [
          [['main', 'serve', 'parse'], 300],
          [['main', 'serve', 'render'], 200],
        ],
        atMs: T0,
      }),
      cpuSeries({
        labels: { service_name: 'go-check' },
        stacks: [[['main', 'serve', 'parse'], 50]],
        atMs: T0 + 10_000,
      }),
    ]);
  });
  after(() => app.close());

  it('reads the binary answer (as Grafana downloads it) with the merged values', async () => {
    const req = new ProtoWriter()
      .string(1, CPU)
      .string(2, '{service_name="go-check"}')
      .int64(3, T0 - 60_000)
      .int64(4, T0 + 60_000)
      .finish();
    const r = await fetch(`${app.url}/querier.v1.QuerierService/SelectMergeProfile`, {
      method: 'POST',
      headers: { 'content-type': 'application/proto' },
      body: req,
    });
    assert.equal(r.status, 200);
    const file = join(mkdtempSync(join(tmpdir(), 'ember-pprof-')), 'merged.pb');
    writeFileSync(file, Buffer.from(await r.arrayBuffer()));
    const { stdout } = await exec('go', ['tool', 'pprof', '-top', '-unit=ns', file], {
      timeout: 120_000,
    });
    assert.match(stdout, /Type: cpu/);
    assert.match(stdout, /Total samples = 550ns/);
    assert.match(stdout, /350ns\s+63\.64%.*\bparse\b/);
    assert.match(stdout, /200ns\s+36\.36%.*\brender\b/);
  });
});
