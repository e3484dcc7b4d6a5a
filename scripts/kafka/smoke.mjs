#!/usr/bin/env node
// Talks to the local test broker with the project's own client (kafkajs), so "up" means "kafkajs can use it".
//   node scripts/kafka/smoke.mjs ready  [--brokers H:P] [--timeout-ms N]   a real metadata request; exit 0 when answered
//   node scripts/kafka/smoke.mjs compat [--brokers H:P] [--restart-cmd "bash scripts/services.sh restart-kafka"]
//     proves what the collector relies on: topic creation with partitions and topic configs, acks=-1 produce,
//     a consumer group with manual commits, admin.fetchOffsets, an 8 MiB message, and (with --restart-cmd)
//     a broker restart that the same producer and consumer survive. Topics it creates are deleted at the end.
//   node scripts/kafka/smoke.mjs apis   per request type: the version kafkajs negotiates with this broker
// Brokers default to EMBER_TEST_KAFKA_BROKERS, then 127.0.0.1:19092.
import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// Resolve kafkajs from the repo root so this works from any cwd.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(resolve(root, 'package.json'));
let kafkajs;
try {
  kafkajs = require('kafkajs');
} catch {
  console.error(`smoke: kafkajs is not installed under ${root}/node_modules (run npm ci)`);
  process.exit(2);
}
const { Kafka, logLevel, Partitioners } = kafkajs;

const args = process.argv.slice(2);
const mode = args[0] ?? 'ready';
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const brokers = opt('brokers', process.env.EMBER_TEST_KAFKA_BROKERS ?? '127.0.0.1:19092').split(
  ',',
);
const verbose = args.includes('--verbose');
const MiB = 1024 * 1024;

const kafka = new Kafka({
  clientId: 'emberflow-smoke',
  brokers,
  connectionTimeout: 3000,
  requestTimeout: 30000,
  logLevel: verbose ? logLevel.INFO : logLevel.NOTHING,
  retry: { initialRetryTime: 200, retries: 12, maxRetryTime: 5000 },
});

const started = Date.now();
const step = (msg) => console.log(`smoke: [${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);
function assert(cond, msg) {
  if (!cond) throw new Error(`assertion failed: ${msg}`);
}
function withTimeout(promise, ms, what) {
  let t;
  return Promise.race([
    promise,
    new Promise((_, rej) => {
      t = setTimeout(() => rej(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

async function ready() {
  const timeoutMs = Number(opt('timeout-ms', '5000'));
  const admin = kafka.admin({ retry: { retries: 0 } });
  try {
    await withTimeout(
      (async () => {
        await admin.connect();
        const cluster = await admin.describeCluster();
        assert(cluster.brokers.length > 0, 'metadata lists a broker');
        assert(
          cluster.controller !== null && cluster.controller !== undefined,
          'metadata names a controller',
        );
      })(),
      timeoutMs,
      'metadata request',
    );
    return 0;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

async function compat() {
  const restartCmd = opt('restart-cmd', '');
  const run = `${Date.now().toString(36)}-${process.pid}`;
  const topic = `smoke-${run}`;
  const bigTopic = `smoke-big-${run}`;
  const group = `smoke-group-${run}`;
  const admin = kafka.admin();
  const producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
    idempotent: false,
  });
  const consumer = kafka.consumer({
    groupId: group,
    sessionTimeout: 10000,
    heartbeatInterval: 1000,
    rebalanceTimeout: 10000,
    maxBytes: 80 * MiB,
    maxBytesPerPartition: 16 * MiB,
    maxWaitTimeInMs: 500,
    allowAutoTopicCreation: false,
    retry: { initialRetryTime: 200, retries: 30, maxRetryTime: 3000 },
  });
  const t0 = Date.now();
  await admin.connect();
  try {
    const cluster = await admin.describeCluster();
    step(
      `metadata: ${cluster.brokers.length} broker(s), controller ${cluster.controller}, cluster ${cluster.clusterId}`,
    );

    const created = await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic, numPartitions: 3, replicationFactor: 1 },
        {
          topic: bigTopic,
          numPartitions: 1,
          replicationFactor: 1,
          configEntries: [{ name: 'max.message.bytes', value: String(16 * MiB) }],
        },
      ],
    });
    assert(created === true, 'createTopics reports the topics as new');
    const meta = await admin.fetchTopicMetadata({ topics: [topic, bigTopic] });
    const parts = Object.fromEntries(meta.topics.map((t) => [t.name, t.partitions.length]));
    assert(
      parts[topic] === 3 && parts[bigTopic] === 1,
      `partition counts ${JSON.stringify(parts)}`,
    );
    const cfg = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: 2 /* TOPIC */, name: bigTopic, configNames: ['max.message.bytes'] }],
    });
    const mmb = cfg.resources[0].configEntries.find((e) => e.configName === 'max.message.bytes');
    assert(
      mmb && mmb.configValue === String(16 * MiB),
      `topic max.message.bytes = ${mmb?.configValue}`,
    );
    step(
      `createTopics: ${topic} (3 partitions), ${bigTopic} (max.message.bytes=${mmb.configValue})`,
    );

    // Auto-creation must be off: a send to a missing topic fails instead of creating it.
    await producer.connect();

    const N = 30;
    const res = await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: N }, (_, i) => ({ key: `k${i}`, value: `v${i}` })),
    });
    const usedPartitions = new Set(res.map((r) => r.partition));
    assert(
      usedPartitions.size > 1,
      `keyed messages spread over partitions (${[...usedPartitions]})`,
    );
    step(`produce acks=-1: ${N} messages over partitions ${[...usedPartitions].sort().join(',')}`);

    const bigValue = randomBytes(8 * MiB);
    const bigSha = createHash('sha256').update(bigValue).digest('hex');
    await producer.send({ topic: bigTopic, acks: -1, messages: [{ key: 'big', value: bigValue }] });
    step('produce acks=-1: one 8 MiB message');

    // Consume both topics in one group; commit by hand after each message.
    const seen = new Map();
    let big = null;
    let waiters = [];
    const wake = () => {
      for (const w of waiters) w();
      waiters = [];
    };
    const until = async (pred, ms, what) => {
      const deadline = Date.now() + ms;
      while (!pred()) {
        if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
        await new Promise((r) => {
          waiters.push(r);
          setTimeout(r, 250);
        });
      }
    };
    await consumer.connect();
    await consumer.subscribe({ topics: [topic, bigTopic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic: t, partition, message }) => {
        if (t === bigTopic) big = message.value;
        else seen.set(message.value.toString(), partition);
        await consumer.commitOffsets([
          { topic: t, partition, offset: (BigInt(message.offset) + 1n).toString() },
        ]);
        wake();
      },
    });
    await until(
      () => seen.size >= N && big !== null,
      60000,
      `${N} small messages and the 8 MiB one`,
    );
    assert(big.length === 8 * MiB, `big message length ${big.length}`);
    assert(createHash('sha256').update(big).digest('hex') === bigSha, 'big message content intact');
    step(`consume (group ${group}, manual commit): ${seen.size} messages + 8 MiB message intact`);

    const offsets = await admin.fetchOffsets({ groupId: group, topics: [topic, bigTopic] });
    const committed = (name) =>
      offsets
        .find((o) => o.topic === name)
        .partitions.reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
    assert(
      committed(topic) === N,
      `committed offsets on ${topic} sum to ${committed(topic)}, want ${N}`,
    );
    assert(
      committed(bigTopic) === 1,
      `committed offset on ${bigTopic} is ${committed(bigTopic)}, want 1`,
    );
    step(`admin.fetchOffsets: ${topic}=${committed(topic)} ${bigTopic}=${committed(bigTopic)}`);

    // The broker must not create topics on demand: a client that asks for it (kafkajs's default,
    // allowAutoTopicCreation: true, sets the flag in its Metadata request) gets an error, no topic.
    const missing = `smoke-missing-${run}`;
    const eager = kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: true,
      retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 200 },
    });
    await eager.connect();
    let missingFailed = false;
    try {
      await eager.send({ topic: missing, acks: -1, timeout: 2000, messages: [{ value: 'x' }] });
    } catch {
      missingFailed = true;
    } finally {
      await eager.disconnect().catch(() => {});
    }
    const listed = await admin.listTopics();
    assert(missingFailed && !listed.includes(missing), 'auto.create.topics.enable is off');
    step('auto topic creation is off');

    if (restartCmd) {
      const tr = Date.now();
      step(`broker restart: ${restartCmd}`);
      const r = spawnSync('bash', ['-c', restartCmd], { stdio: ['ignore', 'inherit', 'inherit'] });
      assert(r.status === 0, `restart command exited ${r.status}`);
      // Same producer and consumer instances: they must reconnect on their own.
      let sent = false;
      const deadline = Date.now() + 60000;
      while (!sent) {
        try {
          await producer.send({
            topic,
            acks: -1,
            messages: [{ key: 'after', value: 'after-restart' }],
          });
          sent = true;
        } catch (e) {
          if (Date.now() > deadline) throw e;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
      await until(() => seen.has('after-restart'), 90000, 'the message produced after the restart');
      const after = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      const sum = after[0].partitions.reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
      assert(sum === N + 1, `committed offsets after restart sum to ${sum}, want ${N + 1}`);
      step(
        `broker restart: producer and consumer reconnected, offsets kept (${((Date.now() - tr) / 1000).toFixed(1)} s)`,
      );
    }

    await consumer.disconnect();
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic, bigTopic] });
    step(`OK in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return 0;
  } finally {
    await consumer.disconnect().catch(() => {});
    await producer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
  }
}

// For every request kafkajs implements, the version it will use against this broker (the highest both
// support, as kafkajs negotiates from ApiVersions) or UNUSABLE when the ranges do not overlap (KIP-896
// removed old versions in Kafka 4). Uses kafkajs internals (its own Cluster/ApiVersions), read-only.
async function apis() {
  const requests = require('kafkajs/src/protocol/requests');
  const apiKeys = require('kafkajs/src/protocol/requests/apiKeys');
  const create = Object.getOwnPropertySymbols(kafka).find(
    (s) => s.description === 'private:Kafka:createCluster',
  );
  const cluster = kafka[create]({});
  await cluster.connect();
  try {
    const broker = cluster.brokerPool.versions;
    let unusable = 0;
    for (const [name, key] of Object.entries(apiKeys)) {
      const ours = (requests.requests[name]?.versions ?? []).map(Number);
      if (ours.length === 0) continue;
      const theirs = broker[key];
      const both = theirs
        ? ours.filter((v) => v >= theirs.minVersion && v <= theirs.maxVersion)
        : [];
      const range = theirs ? `${theirs.minVersion}-${theirs.maxVersion}` : 'absent';
      const pick = both.length ? `uses v${Math.max(...both)}` : 'UNUSABLE';
      if (!both.length) unusable += 1;
      console.log(
        `${name.padEnd(28)} kafkajs v${Math.min(...ours)}-${Math.max(...ours)}  broker ${range.padEnd(7)} ${pick}`,
      );
    }
    console.log(`smoke: ${unusable} kafkajs request type(s) unusable against this broker`);
    return 0;
  } finally {
    await cluster.disconnect().catch(() => {});
  }
}

const modes = { ready, compat, apis };
if (!modes[mode]) {
  console.error(
    `usage: smoke.mjs ready|compat|apis [--brokers host:port] [--timeout-ms N] [--restart-cmd CMD] [--verbose]`,
  );
  process.exit(2);
}
modes[mode]().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`smoke: ${mode} failed: ${err?.stack ?? err}`);
    process.exit(1);
  },
);
