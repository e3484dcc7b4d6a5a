import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CONSUMER_GROUPS,
  KafkaBroker,
  TOPICS,
  topicSpecs,
  type Subscription,
} from '../../libs/queue/index.js';
import { startEmberflow, type EmberProcess } from '../support/emberflow-process.js';
import { suiteEnv, testServices } from '../support/services.js';

// Backpressure from the pipeline (ADR 0011, "Backpressure"), on the real Kafka: an ingest-only
// process whose decoder group drains 20 uploads a second holds and then refuses uploads once
// more than EMBER_INGEST_MAX_BACKLOG of work waits, so what it accepted stays a few seconds
// behind; and it accepts again once that group drains nothing at all (a stopped decoder: the
// durable queue rides that out).
//
// The slow decoder is a consumer of the raw topic in the decoder's group, in this process: the
// point is what ingest reads from Kafka's group offsets, whoever commits them.

const DRAIN_PER_SECOND = 20;

interface Outcome {
  status: number;
  retryAfter: string | null;
  body: string;
}

async function upload(url: string, i: number): Promise<Outcome> {
  const now = Math.floor(Date.now() / 1000);
  const r = await fetch(
    `${url}/ingest?${new URLSearchParams({ name: 'backpressure.cpu', from: String(now - 10 - i), until: String(now - i) })}`,
    { method: 'POST', body: `main;work;item${i} 1\n` },
  );
  return { status: r.status, retryAfter: r.headers.get('retry-after'), body: await r.text() };
}

async function metric(url: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let n = 0;
  for (const line of text.split('\n'))
    if (line.startsWith(name) && line.includes(labels)) n += Number(line.split(' ').pop());
  return n;
}

/** `senders` concurrent senders for `ms`, each sending again as soon as it is answered. */
async function load(url: string, senders: number, ms: number): Promise<Outcome[]> {
  const out: Outcome[] = [];
  const end = Date.now() + ms;
  let i = 0;
  await Promise.all(
    Array.from({ length: senders }, async () => {
      while (Date.now() < end) out.push(await upload(url, i++));
    }),
  );
  return out;
}

describe('backpressure from the pipeline, ingest on the real Kafka', () => {
  let env: Record<string, string>;
  let ingest: EmberProcess;
  let broker: KafkaBroker;
  let slowDecoder: Subscription | undefined;
  let decoded = 0;

  before(async () => {
    env = suiteEnv({
      EMBER_INGEST_MAX_BACKLOG: '1s',
      EMBER_INGEST_ADMISSION_WAIT: '200ms',
      // shed soon, to see the 503s within the test's few seconds of load
      EMBER_INGEST_BACKLOG_WAIT: '300ms',
    });
    ingest = await startEmberflow({ targets: 'ingest', env });
    broker = new KafkaBroker({
      brokers: testServices().kafkaBrokers.split(','),
      clientId: 'backpressure-test-decoder',
      namespace: env.EMBER_NAMESPACE,
      requestTimeoutMs: 10_000,
      sessionTimeoutMs: 10_000,
      log: () => {},
    });
    await broker.start(
      topicSpecs({ rawPartitions: 2, normalizedPartitions: 2, maxUploadBytes: 32 * 1024 * 1024 }),
    );
    slowDecoder = await broker.subscribe({
      groupId: CONSUMER_GROUPS[TOPICS.raw],
      topic: TOPICS.raw,
      maxBatchSize: 1,
      handler: async () => {
        await new Promise((r) => setTimeout(r, 1000 / DRAIN_PER_SECOND));
        decoded++;
      },
    });
  });
  after(async () => {
    await slowDecoder?.close();
    await broker?.close();
    await ingest?.stop();
  });

  it('holds, then refuses with 503 pipeline_behind, once the decoder is more than the limit behind', async () => {
    // Warm up: the decoder gets work, so ingest measures how fast it drains; then the 6 s below
    // start from a pipeline that keeps up. The warm-up is paced at about the drain rate and waits
    // for the backlog to go: until the decoder's group has its partitions nothing drains, so
    // ingest can neither estimate nor hold, and two unpaced senders queued more in 1.5 s than the
    // decoder drains in the 6 s (regression: CI runs in which no upload of the 6 s was accepted).
    const ready = Date.now() + 30_000;
    for (let i = 0; decoded === 0 && Date.now() < ready; i++) {
      await upload(ingest.url, 1_000 + i);
      await new Promise((r) => setTimeout(r, 1000 / DRAIN_PER_SECOND));
    }
    assert.ok(decoded > 0, 'the test decoder consumed nothing within 30 s');
    for (;;) {
      const lag = await metric(
        ingest.url,
        'emberflow_ingest_pipeline_backlog_messages',
        'stage="decoder"',
      );
      if (lag >= 0 && lag <= DRAIN_PER_SECOND / 2) break;
      assert.ok(Date.now() < ready, `the decoder is still ${lag} uploads behind after 30 s`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const outcomes = await load(ingest.url, 8, 6_000);
    const refused = outcomes.filter((o) => o.status === 503);
    const accepted = outcomes.filter((o) => o.status === 200);
    const answers = [...new Set(outcomes.map((o) => `${o.status} ${o.body.slice(0, 160)}`))];
    assert.ok(
      accepted.length > 0,
      `uploads are accepted while the decoder keeps up (decoded ${decoded}; answers: ${answers.join(' | ')})`,
    );
    assert.ok(refused.length > 0, `no upload was refused among ${outcomes.length}`);
    for (const o of refused) {
      assert.match(o.body, /the pipeline is behind: about [\d.]+s of accepted uploads wait/);
      assert.match(o.body, /EMBER_INGEST_MAX_BACKLOG \(1\.0s\)/);
      assert.ok(Number(o.retryAfter) >= 1, `Retry-After ${o.retryAfter}`);
    }
    assert.ok(
      outcomes.every((o) => o.status === 200 || o.status === 503),
      `other answers: ${[...new Set(outcomes.map((o) => o.status))].join(',')}`,
    );
    assert.ok(
      (await metric(
        ingest.url,
        'emberflow_ingest_shed_requests_total',
        'reason="pipeline_behind"',
      )) >= refused.length,
    );
    // What waits stays about the limit's worth of work: 1 s at 20/s, plus what the senders
    // that were waiting brought in when it dipped below, plus half a second between readings.
    const behind = await metric(
      ingest.url,
      'emberflow_ingest_pipeline_backlog_messages',
      'stage="decoder"',
    );
    assert.ok(behind <= 3 * DRAIN_PER_SECOND + 8, `${behind} uploads behind the decoder`);
    const seconds = await metric(
      ingest.url,
      'emberflow_ingest_pipeline_backlog_seconds',
      'stage="decoder"',
    );
    assert.ok(seconds > 0 && seconds < 5, `decoder ${seconds}s behind`);
    // without backpressure 8 senders would have queued hundreds of uploads in 6 s
    assert.ok(accepted.length < 40 * DRAIN_PER_SECOND, `${accepted.length} accepted`);
    assert.ok(decoded > 0);
  });

  it('accepts again once the decoder drains nothing at all: Kafka holds the backlog', async () => {
    await slowDecoder?.close();
    slowDecoder = undefined;
    // Uploads pile up behind the stopped decoder; for the estimate's window (10 s) its last rate
    // still stands, so they are held as behind a slow one; then the stage stops counting.
    const early = await load(ingest.url, 4, 2_000);
    assert.ok(early.every((o) => o.status === 200 || o.status === 503));
    const deadline = Date.now() + 30_000;
    let last: Outcome | undefined;
    let estimate = 0;
    while (Date.now() < deadline) {
      last = await upload(ingest.url, Math.floor(Math.random() * 1e6));
      estimate = await metric(
        ingest.url,
        'emberflow_ingest_pipeline_backlog_seconds',
        'stage="decoder"',
      );
      if (last.status === 200 && estimate === -1) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal(last?.status, 200, `still refused: ${last?.body}`);
    assert.equal(estimate, -1, 'a stage that drains nothing has no estimate');
    const behind = await metric(
      ingest.url,
      'emberflow_ingest_pipeline_backlog_messages',
      'stage="decoder"',
    );
    assert.ok(behind > 0, 'the uploads wait in Kafka');
    const burst = await load(ingest.url, 4, 1_000);
    assert.ok(
      burst.every((o) => o.status === 200),
      `refused while nothing drains: ${burst.find((o) => o.status !== 200)?.body}`,
    );
  });
});
