import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

// The real Kafka broker and Redis the integration and end-to-end suites run on. The test runner
// (scripts/run-tests.mjs) starts them with scripts/services.sh and passes their addresses; a
// suite run without them fails loudly instead of skipping.

export interface TestServices {
  kafkaBrokers: string;
  redisUrl: string;
}

export function testServices(): TestServices {
  const kafkaBrokers = process.env.EMBER_TEST_KAFKA_BROKERS;
  const redisUrl = process.env.EMBER_TEST_REDIS_URL;
  if (!kafkaBrokers || !redisUrl) {
    throw new Error(
      'EMBER_TEST_KAFKA_BROKERS and EMBER_TEST_REDIS_URL are not set: run integration and e2e suites through `npm test` (or `npm run test:integration` / `npm run test:e2e`), which start the real Kafka broker and Redis',
    );
  }
  return { kafkaBrokers, redisUrl };
}

/**
 * The environment for scripts/services.sh run from a suite: the ports of the services the suite
 * runs on (EMBER_TEST_KAFKA_BROKERS, EMBER_TEST_REDIS_URL), so that a stop or restart acts on
 * them. Without it, a suite run by hand against services on other ports restarted (that is,
 * started) a broker on the script's default port and left it running, and the next `.ci/run` on
 * the machine could not start its own.
 */
export function servicesScriptEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  const kafka = /:(\d+)$/.exec(process.env.EMBER_TEST_KAFKA_BROKERS?.split(',')[0] ?? '');
  if (kafka) env.EMBER_SVC_KAFKA_PORT = kafka[1];
  const redisUrl = process.env.EMBER_TEST_REDIS_URL;
  if (redisUrl) {
    const port = URL.canParse(redisUrl) ? new URL(redisUrl).port : '';
    if (port !== '') env.EMBER_SVC_REDIS_PORT = port;
  }
  return env;
}

/**
 * Takes the broker away and brings it back, for outage tests. Locally through
 * scripts/services.sh (a real stop and start); under testcontainers the container is paused and
 * unpaused (a stopped container would come back on a new port).
 */
export function controlKafka(action: 'stop' | 'start'): void {
  if (process.env.EMBER_TEST_SERVICES === 'testcontainers') {
    const id = process.env.EMBER_TEST_KAFKA_CONTAINER;
    if (!id) throw new Error('EMBER_TEST_KAFKA_CONTAINER is not set');
    execFileSync('docker', [action === 'stop' ? 'pause' : 'unpause', id], { stdio: 'inherit' });
    return;
  }
  execFileSync('bash', [join(repoRoot(), 'scripts/services.sh'), `${action}-kafka`], {
    stdio: 'inherit',
    env: servicesScriptEnv(),
  });
}

/**
 * Restarts a service in place, for fault tests: the broker keeps its data, Redis loses its own
 * (it runs without persistence, as a cache should). Under testcontainers the container restarts.
 */
export async function restartService(service: 'kafka' | 'redis'): Promise<void> {
  // asynchronous: the test's load keeps running while the service is away
  if (process.env.EMBER_TEST_SERVICES === 'testcontainers') {
    if (service === 'kafka') {
      controlKafka('stop');
      await new Promise((r) => setTimeout(r, 2000));
      controlKafka('start');
      return;
    }
    // what a restart of a cache does to its clients: an outage, then no data
    const id = process.env.EMBER_TEST_REDIS_CONTAINER;
    if (!id) throw new Error('EMBER_TEST_REDIS_CONTAINER is not set');
    execFileSync('docker', ['pause', id], { stdio: 'inherit' });
    await new Promise((r) => setTimeout(r, 2000));
    execFileSync('docker', ['unpause', id], { stdio: 'inherit' });
    execFileSync('docker', ['exec', id, 'redis-cli', 'FLUSHALL'], { stdio: 'inherit' });
    return;
  }
  await new Promise<void>((resolve, reject) => {
    const child = spawn('bash', [join(repoRoot(), 'scripts/services.sh'), `restart-${service}`], {
      stdio: 'inherit',
      env: servicesScriptEnv(),
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`services.sh restart-${service} exited ${code}`)),
    );
  });
}

/**
 * The environment of one suite's Emberflow processes on the real services: its own Kafka
 * namespace (topics and consumer groups), so suites never consume each other's leftovers, and
 * a fresh data directory. Processes of one suite share it to form one deployment.
 */
export function suiteEnv(extra: Record<string, string> = {}): Record<string, string> {
  const svc = testServices();
  return {
    EMBER_KAFKA_BROKERS: svc.kafkaBrokers,
    EMBER_REDIS_URL: svc.redisUrl,
    EMBER_NAMESPACE: `test-${randomUUID().slice(0, 8)}.`,
    EMBER_KAFKA_RAW_PARTITIONS: '2',
    EMBER_KAFKA_NORMALIZED_PARTITIONS: '2',
    EMBER_DATA_DIR: mkdtempSync(join(tmpdir(), 'ember-suite-')),
    ...extra,
  };
}
