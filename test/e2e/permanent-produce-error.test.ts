import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ProfileBuilder, encodePprof } from '../../libs/model/index.js';
import { goPprofForm, postAdmitted, send } from '../support/agent-requests.js';
import { startEmberflow, type EmberProcess } from '../support/emberflow-process.js';
import { readTopic, setTopicConfig, topicRecords } from '../support/kafka-admin.js';
import { foldedUpload } from '../support/production-shapes.js';
import { selectMergeStacktraces, waitFor } from '../support/query-client.js';
import { suiteEnv } from '../support/services.js';

// A produce error that cannot succeed on retry, injected for real: an operator lowers the
// normalised topic's max.message.bytes to 256 KiB behind the running decoder's back. The broker
// then answers MESSAGE_TOO_LARGE. The decoder reads the new limit and splits what it can into
// parts that fit (a 1.5 MB upload is stored whole, in parts); an upload holding one sample
// larger than any record can be (1,000 frames of 600-character names) is dead-lettered with
// reason message_too_large, and its partition and every other go on.

const CPU = 'process_cpu:cpu:nanoseconds:cpu:nanoseconds';
const NS = 10_000_000;

/** One CPU sample whose stack alone encodes to about 600 KB: it can never be cut into parts. */
function monsterPprof(): Buffer {
  const b = new ProfileBuilder()
    .sampleType('cpu', 'nanoseconds')
    .period('cpu', 'nanoseconds', 10_000_000)
    .time(BigInt(Date.now()) * 1_000_000n, 10_000_000_000);
  const frames = Array.from(
    { length: 1000 },
    (_, i) => `com.example.generated.${'Deep'.repeat(140)}.frame${i}`,
  );
  b.stack(frames, [30_000_000]);
  return Buffer.from(encodePprof(b.build()));
}

describe('a permanent produce error dead-letters the upload and the partitions move on (real Kafka and Redis, three processes)', () => {
  let env: Record<string, string>;
  const procs: EmberProcess[] = [];

  before(async () => {
    env = suiteEnv();
    const cfg = join(env.EMBER_DATA_DIR, 'emberflow.yaml');
    writeFileSync(cfg, 'limits:\n  ingestionRateBytes: 0\n');
    env.EMBER_CONFIG = cfg;
    procs.push(await startEmberflow({ targets: 'exporter', env }));
    procs.push(await startEmberflow({ targets: 'decoder', env }));
    procs.push(await startEmberflow({ targets: 'ingest', env }));
  });
  after(async () => {
    for (const p of procs) await p.stop();
  });

  it('dead-letters only the upload that can never fit, with message_too_large', async () => {
    const [exporter, decoder, ingest] = procs;
    const ns = env.EMBER_NAMESPACE;
    await setTopicConfig(`${ns}profiles.normalized.v1`, 'max.message.bytes', String(256 * 1024));
    const run = randomUUID().slice(0, 6);
    const now = Math.floor(Date.now() / 1000);
    const expected = new Map<string, number>();
    // While the decoder works through the monster's refused produce it drains slowly, so ingest
    // may answer 503 pipeline_behind for a while: an agent retries after Retry-After, and so does
    // this. What the test pins is that every accepted upload is stored.
    const post = async (service: string, body: Buffer, from = now - 20): Promise<void> => {
      const r = await postAdmitted(
        `${ingest.url}/ingest?name=${service}.cpu&from=${from}&until=${from + 10}`,
        body,
      );
      assert.equal(r.status, 200, r.text);
    };
    const monster = `monster-${run}`;
    const r = await send(ingest.url, goPprofForm(`${monster}.cpu`, monsterPprof()));
    assert.equal(r.status, 200, await r.text());
    // the same service's next upload rides on the same partition: it must get through
    await post(monster, Buffer.from('main;after 3\n'), now - 10);
    expected.set(monster, 3 * NS);
    const big = foldedUpload(7);
    await post(`big-${run}`, big.body);
    expected.set(`big-${run}`, big.total * NS);
    for (let i = 0; i < 12; i++) {
      await post(`small-${run}-${i}`, Buffer.from(`main;leaf${i} ${i + 1}\n`));
      expected.set(`small-${run}-${i}`, (i + 1) * NS);
    }
    const totalOf = async (service: string): Promise<number> =>
      Number(
        (
          await selectMergeStacktraces(exporter.url, {
            profileTypeID: CPU,
            labelSelector: `{service_name="${service}"}`,
            start: (now - 3600) * 1000,
            end: (now + 60) * 1000,
          })
        ).flamegraph.total,
      );
    let missing: string[] = [];
    try {
      await waitFor('every other upload stored', 180_000, async () => {
        missing = [];
        for (const [s, t] of expected) if ((await totalOf(s)) < t) missing.push(s);
        return missing.length === 0 ? true : undefined;
      });
    } catch (err) {
      // what a failure needs to be read: which uploads, what was dead-lettered, the decoder's words
      const letters = await readTopic(`${ns}profiles.raw.v1.dlq`).catch(() => []);
      throw new Error(
        `${String(err)}\nmissing: ${missing.join(', ')}\ndead letters: ${JSON.stringify(
          letters.map((l) => [l.headers['ember-dlq-reason'], l.headers['ember-params']]),
        )}\ndecoder output (tail):\n${decoder.output().slice(-6000)}`,
      );
    }
    for (const [s, t] of expected) assert.equal(await totalOf(s), t, s);
    const letters = await waitFor('the dead letter', 60_000, async () => {
      const l = await readTopic(`${ns}profiles.raw.v1.dlq`);
      return l.length > 0 ? l : undefined;
    });
    assert.equal(letters.length, 1, JSON.stringify(letters.map((l) => l.headers)));
    assert.equal(letters[0].headers['ember-dlq-reason'], 'message_too_large');
    assert.match(letters[0].headers['ember-dlq-message'], /exceeds the limit/);
    assert.match(letters[0].headers['ember-params'], new RegExp(monster));
    // the big upload was split to fit, not dead-lettered
    const metrics = await (await fetch(`${decoder.url}/metrics`)).text();
    assert.match(metrics, /emberflow_decoder_series_parts_total\{[^}]*\} [1-9]/);
    assert.match(
      metrics,
      /emberflow_dead_lettered_messages_total\{topic="profiles.raw.v1",reason="message_too_large"\} 1/,
    );
    assert.equal(await topicRecords(`${ns}profiles.normalized.v1.dlq`), 0);
  });
});
