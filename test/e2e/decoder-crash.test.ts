import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { postAdmitted } from '../support/agent-requests.js';
import { startEmberflow, type EmberProcess } from '../support/emberflow-process.js';
import { selectMergeStacktraces, selfByName, waitFor } from '../support/query-client.js';
import { suiteEnv } from '../support/services.js';

// The delivery guarantee under a crash: the decoder is SIGKILLed while uploads stream in, then
// restarted. Every upload answered 200 must be readable afterwards, none twice. Each upload has
// its own leaf frame and a distinct value, so a lost upload and a duplicated one both show.

const CPU = 'process_cpu:cpu:nanoseconds:cpu:nanoseconds';
const UPLOADS = 60;
const KILL_AT = 20;

describe('a decoder killed mid-stream loses nothing and duplicates nothing (real Kafka and Redis)', () => {
  let env: Record<string, string>;
  const procs: EmberProcess[] = [];

  before(async () => {
    env = suiteEnv();
    procs.push(await startEmberflow({ targets: 'exporter', env }));
    procs.push(await startEmberflow({ targets: 'ingest', env }));
  });
  after(async () => {
    for (const p of procs) await p.stop();
  });

  it('delivers every acknowledged upload exactly once after SIGKILL and restart', async () => {
    const [exporter, ingest] = procs;
    let decoder = await startEmberflow({ targets: 'decoder', env });
    procs.push(decoder);
    const app = `crash-${randomUUID().slice(0, 8)}`;
    const now = Math.floor(Date.now() / 1000);
    const accepted: number[] = [];
    for (let i = 0; i < UPLOADS; i++) {
      if (i === KILL_AT) {
        await decoder.kill();
        console.log(`# decoder SIGKILLed after ${i} uploads`);
      }
      if (i === KILL_AT + 20) {
        decoder = await startEmberflow({ targets: 'decoder', env });
        procs.push(decoder);
        console.log(`# decoder restarted after ${i} uploads`);
      }
      const body = `main;handler;leaf${i} ${i + 1}\n`;
      // as an agent: a 503 pipeline_behind (the uploads queued while the decoder was down, as
      // ingest estimates them) is sent again after its Retry-After
      const r = await postAdmitted(
        `${ingest.url}/ingest?name=${app}.cpu&from=${now - UPLOADS + i}&until=${now - UPLOADS + i + 1}`,
        Buffer.from(body),
      );
      if (r.status === 200) accepted.push(i);
      else assert.fail(`upload ${i} answered ${r.status}: ${r.text}`);
    }
    const expectedTotal = accepted.reduce((s, i) => s + (i + 1) * 10_000_000, 0);
    const answer = await waitFor('every accepted upload in the store', 90_000, async () => {
      const a = await selectMergeStacktraces(exporter.url, {
        profileTypeID: CPU,
        labelSelector: `{service_name="${app}"}`,
        start: (now - 3600) * 1000,
        end: (now + 60) * 1000,
      });
      return Number(a.flamegraph.total) >= expectedTotal ? a : undefined;
    });
    await new Promise((r) => setTimeout(r, 2000)); // a duplicate would land by now
    const final = await selectMergeStacktraces(exporter.url, {
      profileTypeID: CPU,
      labelSelector: `{service_name="${app}"}`,
      start: (now - 3600) * 1000,
      end: (now + 60) * 1000,
    });
    assert.equal(answer.flamegraph.total, String(expectedTotal));
    assert.equal(final.flamegraph.total, String(expectedTotal), 'no upload arrived twice');
    const self = selfByName(final.flamegraph);
    for (const i of accepted)
      assert.equal(self.get(`leaf${i}`), (i + 1) * 10_000_000, `upload ${i} exactly once`);
  });
});
