import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { KafkaBroker, TOPICS, type IncomingMessage } from '../../libs/queue/index.js';
import { rawUpload, send } from '../support/agent-requests.js';
import { startEmberflow, type EmberProcess } from '../support/emberflow-process.js';
import { fixturePath, repoRoot } from '../support/paths.js';
import { selectMergeStacktraces, waitFor } from '../support/query-client.js';
import { suiteEnv, testServices } from '../support/services.js';

// An upload the decoder cannot take lands in the DLQ with its reason; after the fix (here: a
// profile-size limit raised in the config file), `npm run replay` brings it back and it is
// delivered. Real broker, real Redis, real processes.

const run = promisify(execFile);

describe('dead letters can be replayed after a fix (real Kafka and Redis)', () => {
  const svc = testServices();
  const tenant = `replay-${randomUUID().slice(0, 8)}`;
  const procs: EmberProcess[] = [];
  after(async () => {
    for (const p of procs) await p.stop();
  });

  it('dead-letters an over-limit profile, then replays it once the limit is raised', async () => {
    const env = suiteEnv();
    const strict = join(env.EMBER_DATA_DIR, 'strict.yaml');
    writeFileSync(strict, 'limits:\n  maxProfileBytes: 1024\n');
    const first = await startEmberflow({ targets: 'all', env: { ...env, EMBER_CONFIG: strict } });
    procs.push(first);

    const dead: IncomingMessage[] = [];
    const broker = new KafkaBroker({
      brokers: svc.kafkaBrokers.split(','),
      clientId: 'replay-test',
      requestTimeoutMs: 30_000,
      maxBytesPerPartition: 8 << 20,
      sessionTimeoutMs: 10_000,
      namespace: env.EMBER_NAMESPACE,
      log: () => {},
    });
    const sub = await broker.subscribe({
      groupId: `replay-test-${tenant}`,
      topic: TOPICS.rawDlq,
      maxBatchSize: 100,
      handler: async (b) =>
        void dead.push(...b.messages.filter((m) => m.headers['ember-tenant'] === tenant)),
    });
    const body = readFileSync(fixturePath('pyroscope', 'pprof', 'profile_java'));
    const r = await send(first.url, rawUpload('replayed.java', 'pprof', body), {
      'x-scope-orgid': tenant,
    });
    assert.equal(r.status, 200);
    await waitFor('the dead letter', 60_000, async () => (dead.length > 0 ? true : undefined));
    await sub.close();
    await broker.close();
    assert.equal(dead[0].headers['ember-dlq-reason'], 'profile_size_limit');
    assert.match(dead[0].headers['ember-dlq-message'], /exceeds/);
    await first.stop();

    const fixed = await startEmberflow({ targets: 'all', env });
    procs.push(fixed);
    const dry = await run(
      process.execPath,
      [join(repoRoot(), 'dist/apps/replay/main.js'), '--tenant', tenant, '--dry-run'],
      {
        env: {
          ...process.env,
          EMBER_KAFKA_BROKERS: svc.kafkaBrokers,
          EMBER_NAMESPACE: env.EMBER_NAMESPACE,
        },
      },
    );
    assert.match(dry.stdout, /would replay 1 \(profile_size_limit: 1\)/);
    const out = await run(
      process.execPath,
      [
        join(repoRoot(), 'dist/apps/replay/main.js'),
        '--tenant',
        tenant,
        '--reason',
        'profile_size_limit',
      ],
      {
        env: {
          ...process.env,
          EMBER_KAFKA_BROKERS: svc.kafkaBrokers,
          EMBER_NAMESPACE: env.EMBER_NAMESPACE,
        },
      },
    );
    assert.match(out.stdout, /replayed 1 \(profile_size_limit: 1\)/);

    const fg = await waitFor('the replayed profile in the store', 60_000, async () => {
      const a = await selectMergeStacktraces(
        fixed.url,
        {
          profileTypeID: 'process_cpu:cpu:nanoseconds:cpu:nanoseconds',
          labelSelector: '{service_name="replayed.java"}',
          start: 1,
          end: Date.now() + 60_000,
        },
        { 'x-scope-orgid': tenant },
      );
      return a.flamegraph.total !== '0' ? a : undefined;
    });
    assert.ok(Number(fg.flamegraph.total) > 0);
  });
});
