import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startFakePyroscope, type FakePyroscope } from '../../libs/backends/pyroscope/testing.js';
import { startEmberflow, type EmberProcess } from '../support/emberflow-process.js';
import { waitFor } from '../support/query-client.js';
import { suiteEnv } from '../support/services.js';

// A partition stuck behind a failing backend is visible: with Pyroscope answering 503 the
// exporter cannot commit, and after EMBER_STALL_TIMEOUT its /readyz reports "degraded" naming
// the partition and the error, and /metrics sets emberflow_consumer_stalled to 1 (lag and retry
// counts beside it). When the backend comes back, the series is delivered once and the stall
// clears.

interface Ready {
  status: string;
  checks: Record<string, { ok: boolean; detail: string; degraded?: boolean }>;
}

describe('a partition stuck on a failing backend shows as stalled (real Kafka and Redis)', () => {
  let fake: FakePyroscope;
  let ingest: EmberProcess;
  let exporter: EmberProcess;

  before(async () => {
    fake = await startFakePyroscope();
    fake.respond = () => ({ status: 503, body: '{"code":"unavailable","message":"down"}' });
    const env = suiteEnv({ EMBER_STALL_TIMEOUT: '3s' });
    const cfg = join(env.EMBER_DATA_DIR, 'emberflow.yaml');
    writeFileSync(
      cfg,
      [
        'backends:',
        '  embedded:',
        '    enabled: false',
        '  pyroscope:',
        '    - name: flaky',
        `      url: ${fake.url}`,
        '      retry:',
        '        initialInterval: 100ms',
        '        maxInterval: 500ms',
        '        maxElapsed: 1s',
        '',
      ].join('\n'),
    );
    env.EMBER_CONFIG = cfg;
    exporter = await startEmberflow({ targets: 'exporter', env });
    ingest = await startEmberflow({ targets: 'ingest,decoder', env });
  });
  after(async () => {
    await ingest?.stop();
    await exporter?.stop();
    await fake?.close();
  });

  it('reports the stalled partition in /readyz and /metrics, and clears once delivered', async () => {
    const name = `stuck-${randomUUID().slice(0, 6)}`;
    const now = Math.floor(Date.now() / 1000);
    const r = await fetch(`${ingest.url}/ingest?name=${name}.cpu&from=${now - 10}&until=${now}`, {
      method: 'POST',
      body: 'main;work 5\n',
    });
    assert.equal(r.status, 200);
    // degraded once the stall timeout passed; the backend's error shows from its first failure
    const ready = await waitFor('a degraded /readyz naming the error', 60_000, async () => {
      const x = await fetch(`${exporter.url}/readyz`);
      const body = (await x.json()) as Ready;
      return x.status === 200 &&
        body.status === 'degraded' &&
        /failed attempts/.test(body.checks.consumers.detail)
        ? body
        : undefined;
    });
    const detail = ready.checks.consumers.detail;
    assert.equal(ready.checks.consumers.degraded, true);
    assert.match(
      detail,
      /profiles\.normalized\.v1\[\d+\] \(group emberflow-exporter\) stalled: lag [1-9]/,
    );
    assert.match(detail, /503/);
    const metrics = await (await fetch(`${exporter.url}/metrics`)).text();
    const stalled =
      /emberflow_consumer_stalled\{group="emberflow-exporter",topic="profiles.normalized.v1",partition="(\d+)"\} 1/.exec(
        metrics,
      );
    assert.ok(stalled, 'emberflow_consumer_stalled is 1 for the stuck partition');
    const p = stalled[1];
    assert.match(
      metrics,
      new RegExp(
        `emberflow_consumer_lag\\{group="emberflow-exporter",topic="profiles.normalized.v1",partition="${p}"\\} [1-9]`,
      ),
    );
    assert.match(
      metrics,
      /emberflow_consumer_retries_total\{group="emberflow-exporter",topic="profiles.normalized.v1"\} [1-9]/,
    );
    // the other stages are not stalled: ingest and decoder are fine
    const decoderReady = (await (await fetch(`${ingest.url}/readyz`)).json()) as Ready;
    assert.equal(decoderReady.status, 'ready', JSON.stringify(decoderReady));

    fake.respond = () => ({ status: 200 });
    await waitFor('the stall to clear', 60_000, async () => {
      const body = (await (await fetch(`${exporter.url}/readyz`)).json()) as Ready;
      return body.status === 'ready' ? true : undefined;
    });
    const after = await (await fetch(`${exporter.url}/metrics`)).text();
    assert.match(
      after,
      new RegExp(
        `emberflow_consumer_stalled\\{group="emberflow-exporter",topic="profiles.normalized.v1",partition="${p}"\\} 0`,
      ),
    );
    assert.match(
      after,
      new RegExp(
        `emberflow_consumer_lag\\{group="emberflow-exporter",topic="profiles.normalized.v1",partition="${p}"\\} 0`,
      ),
    );
    const delivered = fake.accepted
      .flatMap((a) => a.request.series)
      .filter((s) => s.labels.some((l) => l.name === 'service_name' && l.value === name));
    assert.equal(delivered.length, 1, 'delivered once');
  });
});
