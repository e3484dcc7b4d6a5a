// The deployments the end-to-end benchmark loads: Emberflow in one process on embedded defaults,
// in three processes on Kafka and Redis (the production shape), or in one process on Kafka and
// Redis; and the floors (a bare server of the same HTTP framework). Each is a set of real
// operating-system processes whose pids the benchmark reads in /proc.
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { startEmberflow, type EmberProcess } from '../../test/support/emberflow-process.js';
import { repoRoot } from '../../test/support/paths.js';
import { freePort } from '../../test/support/ports.js';

export type TopologyName = 'one' | 'three' | 'one-kafka';

export const TOPOLOGY_TITLES: Record<TopologyName, string> = {
  one: 'one process, embedded defaults',
  three: 'three processes, Kafka + Redis',
  'one-kafka': 'one process, Kafka + Redis',
};

export interface ProcessRef {
  /** short name in the report: all, ingest, decoder, exporter, kafka, redis, floor */
  name: string;
  pid: number;
  /** HTTP base URL of an Emberflow process (metrics, readiness) */
  url?: string;
}

export interface Deployment {
  name: string;
  /** where uploads go */
  ingestUrl: string;
  /** where the embedded store is queried and its metrics read */
  exporterUrl: string;
  /** Emberflow processes */
  processes: ProcessRef[];
  /** Kafka and Redis, measured apart */
  services: ProcessRef[];
  stop(): Promise<void>;
}

export interface Services {
  brokers: string;
  redisUrl: string;
  kafka: ProcessRef;
  redis: ProcessRef;
}

/**
 * The benchmark's Kafka and Redis: the ones scripts/services.sh runs on this engineer's ports
 * (EMBER_SVC_KAFKA_PORT, EMBER_SVC_REDIS_PORT), started when not running yet.
 */
export function ensureServices(): Services {
  const root = repoRoot();
  execFileSync('bash', [join(root, 'scripts/services.sh'), 'up'], { stdio: 'inherit' });
  const kafkaPort = process.env.EMBER_SVC_KAFKA_PORT ?? '19092';
  const redisPort = process.env.EMBER_SVC_REDIS_PORT ?? '16379';
  const pidOf = (file: string): number =>
    Number(readFileSync(join(root, '.cache/services', file), 'utf8').trim());
  return {
    brokers: `127.0.0.1:${kafkaPort}`,
    redisUrl: `redis://127.0.0.1:${redisPort}`,
    kafka: { name: 'kafka', pid: pidOf(`kafka-${kafkaPort}/kafka.pid`) },
    redis: { name: 'redis', pid: pidOf(`redis-${redisPort}/redis.pid`) },
  };
}

/** Deletes the benchmark's Kafka topics (its namespace) so repeated runs do not pile up data. */
export async function deleteNamespace(brokers: string, namespace: string): Promise<void> {
  const kafka = new kafkajs.Kafka({
    brokers: [brokers],
    clientId: 'emberflow-bench-cleanup',
    logLevel: kafkajs.logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(namespace));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } finally {
    await admin.disconnect();
  }
}

/**
 * The settings every benchmarked deployment shares: no per-tenant ingestion rate (the default
 * 4 MiB/s would answer 429 long before the service saturates; the benchmark measures the
 * service, not the limit), everything else at its default.
 */
function configFile(dir: string): string {
  const path = join(dir, 'bench-config.yaml');
  writeFileSync(path, 'limits:\n  ingestionRateBytes: 0\n');
  return path;
}

export interface StartOptions {
  services?: Services;
  /** node options for every Emberflow process, e.g. ['--cpu-prof', '--cpu-prof-dir=...'] */
  nodeArgs?: string[];
  /** extra environment for every Emberflow process */
  env?: Record<string, string>;
}

export async function startDeployment(
  topology: TopologyName,
  o: StartOptions = {},
): Promise<Deployment> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ember-bench-'));
  const base: Record<string, string> = {
    EMBER_DATA_DIR: dataDir,
    EMBER_CONFIG: configFile(dataDir),
    EMBER_LOG_FORMAT: 'json',
    ...o.env,
  };
  let namespace = '';
  let services: ProcessRef[] = [];
  if (topology !== 'one') {
    if (!o.services) throw new Error(`topology ${topology} needs Kafka and Redis`);
    namespace = `bench-${randomUUID().slice(0, 8)}.`;
    Object.assign(base, {
      EMBER_KAFKA_BROKERS: o.services.brokers,
      EMBER_REDIS_URL: o.services.redisUrl,
      EMBER_NAMESPACE: namespace,
    });
    services = [o.services.kafka, o.services.redis];
  }
  const start = (targets: string): Promise<EmberProcess> =>
    startEmberflow({ targets, env: base, nodeArgs: o.nodeArgs, readyTimeoutMs: 120_000 });
  let procs: { name: string; p: EmberProcess }[];
  if (topology === 'three') {
    // the exporter first: it creates the topics' consumers the other two feed
    const exporter = await start('exporter');
    const [decoder, ingest] = await Promise.all([start('decoder'), start('ingest')]);
    procs = [
      { name: 'ingest', p: ingest },
      { name: 'decoder', p: decoder },
      { name: 'exporter', p: exporter },
    ];
  } else {
    procs = [{ name: 'all', p: await start('all') }];
  }
  const ingest = procs[0].p;
  const exporter = procs[procs.length - 1].p;
  return {
    name: topology,
    ingestUrl: ingest.url,
    exporterUrl: exporter.url,
    processes: procs.map(({ name, p }) => ({ name, pid: p.pid, url: p.url })),
    services,
    stop: async () => {
      await Promise.all(procs.map(({ p }) => p.stop()));
      rmSync(dataDir, { recursive: true, force: true });
      if (namespace !== '' && o.services) await deleteNamespace(o.services.brokers, namespace);
    },
  };
}

export interface FloorServer {
  url: string;
  process: ProcessRef;
  /** the server's event-loop delay p99 (ms) since the previous call */
  loopP99(): Promise<number>;
  stop(): Promise<void>;
}

export async function startFloorServer(kind: 'fastify' | 'nest'): Promise<FloorServer> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [join(repoRoot(), 'dist/bench/e2e/floor-http.js'), kind, String(port)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('listening')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`floor ${kind} exited with ${code}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    process: { name: kind, pid: child.pid! },
    loopP99: async () => {
      const r = (await (await fetch(`${url}/loop`)).json()) as { p99Ms: number };
      return r.p99Ms;
    },
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
