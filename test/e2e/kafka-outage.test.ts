import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startEmberflow, type EmberProcess } from '../support/emberflow-process.js';
import { selectMergeStacktraces, waitFor } from '../support/query-client.js';
import { controlKafka, suiteEnv } from '../support/services.js';

// Kafka going away: ingest must answer 503 with a JSON body (agents retry 5xx), never 200 for
// an upload it could not queue; when the broker is back, uploads flow again and what was
// answered 200 arrives. Stops the real broker, so it runs alone (the runner runs files serially).

const CPU = 'process_cpu:cpu:nanoseconds:cpu:nanoseconds';

describe('Kafka unreachable: 503 at ingest, then recovery (real Kafka and Redis)', () => {
  let app: EmberProcess;

  before(async () => {
    app = await startEmberflow({
      targets: 'all',
      env: suiteEnv({ EMBER_KAFKA_REQUEST_TIMEOUT: '3s' }),
    });
  });
  after(async () => {
    controlKafka('start'); // whatever happened, leave the broker up for the next suite
    await app?.stop();
  });

  it('answers 503 with a JSON error while the broker is down, and accepts again after', async () => {
    const name = `outage-${randomUUID().slice(0, 8)}`;
    const now = Math.floor(Date.now() / 1000);
    const post = (leaf: string) =>
      fetch(`${app.url}/ingest?name=${name}.cpu&from=${now - 10}&until=${now}`, {
        method: 'POST',
        body: `main;${leaf} 3\n`,
      });

    controlKafka('stop');
    const r = await post('during');
    const text = await r.text();
    assert.equal(r.status, 503, text);
    const body = JSON.parse(text) as { code: string; message: string };
    assert.equal(body.code, 'unavailable');
    assert.match(body.message, /queue is unavailable, retry later/);
    assert.ok(r.headers.get('retry-after'));
    const ready = await fetch(`${app.url}/readyz`);
    assert.equal(ready.status, 503, 'not ready while Kafka is down');

    controlKafka('start');
    const ok = await waitFor('ingest accepting again', 90_000, async () => {
      const x = await post('after');
      return x.status === 200 ? x : undefined;
    });
    assert.equal(ok.status, 200);
    const fg = await waitFor('the upload in the store', 90_000, async () => {
      const a = await selectMergeStacktraces(app.url, {
        profileTypeID: CPU,
        labelSelector: `{service_name="${name}"}`,
        start: (now - 3600) * 1000,
        end: (now + 60) * 1000,
      });
      return a.flamegraph.total !== '0' ? a : undefined;
    });
    // only the upload answered 200 is there: the one refused with 503 was not half-accepted
    assert.ok(fg.flamegraph.names.includes('after'));
    assert.ok(!fg.flamegraph.names.includes('during'));
  });
});
