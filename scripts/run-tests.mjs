#!/usr/bin/env node
// Runs the compiled test files with Node's own test runner.
//   unit        *.spec.js beside the code (libs/, apps/, ui/ via dist/ui-spec): no services
//   integration test/integration/**/*.test.js: real Kafka + Redis (started here)
//   e2e         test/e2e/**/*.test.js: real Kafka + Redis, real processes
//   all         all three, in that order
// Integration and e2e suites need the services; this script starts them (scripts/services.sh,
// or testcontainers when a Docker engine answers) and fails loudly when it cannot. It stops
// what it started when it ends (passed, failed, Ctrl-C or SIGTERM); services that were already
// up stay up, and EMBER_TEST_KEEP_SERVICES=1 keeps the ones it started (the next run reuses
// them; `bash scripts/services.sh down` stops them).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const mode = process.argv[2] ?? 'unit';

function walk(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

const unitFiles = () =>
  [...walk(join(dist, 'libs')), ...walk(join(dist, 'apps')), ...walk(join(dist, 'ui-spec'))].filter(
    (f) => f.endsWith('.spec.js'),
  );
const suiteFiles = (name) => walk(join(dist, 'test', name)).filter((f) => f.endsWith('.test.js'));

function run(files, label, extraEnv = {}, concurrency) {
  if (files.length === 0) {
    console.error(`run-tests: no ${label} test files found under dist/ (did the build run?)`);
    process.exit(1);
  }
  console.log(`\n=== ${label}: ${files.length} files ===`);
  // A hung test must fail, not stall CI: every test file gets at most 10 minutes.
  const args = ['--enable-source-maps', '--test', '--test-reporter=spec', '--test-timeout=600000'];
  if (concurrency) args.push(`--test-concurrency=${concurrency}`);
  const r = spawnSync(process.execPath, [...args, ...files], {
    stdio: 'inherit',
    env: { ...process.env, ...extraEnv },
  });
  if (interrupted) {
    process.exitCode = 130;
    throw new Error(`${label} tests interrupted (${interrupted})`);
  }
  if (r.status !== 0) {
    console.error(`run-tests: ${label} tests failed (exit ${r.status})`);
    process.exitCode = r.status ?? 1;
    throw new Error(`${label} tests failed`);
  }
}

/** A reachable Docker engine (a contributor's laptop): then testcontainers provides the services. */
function dockerAvailable() {
  if (process.env.EMBER_TEST_SERVICES === 'local') return false;
  const r = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  return r.status === 0 && r.stdout.trim() !== '';
}

const keepServices = ['1', 'true', 'yes'].includes(
  (process.env.EMBER_TEST_KEEP_SERVICES ?? '').toLowerCase(),
);

// Ctrl-C and SIGTERM reach the test runner child too (same process group); this process only
// notes them, so that the `finally` below stops the services once the child has ended.
let interrupted = null;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'])
  process.on(sig, () => {
    interrupted = sig;
  });

function localServices() {
  const sh = join(root, 'scripts/services.sh');
  const alreadyUp =
    spawnSync('bash', [sh, 'status'], { stdio: 'ignore', timeout: 60_000 }).status === 0;
  const r = spawnSync('bash', [sh, 'up'], { stdio: 'inherit' });
  if (r.status !== 0) {
    // whichever of the two did start is not left behind
    if (!alreadyUp && !keepServices) spawnSync('bash', [sh, 'down'], { stdio: 'inherit' });
    console.error('run-tests: could not start Kafka and Redis (scripts/services.sh up failed)');
    process.exit(1);
  }
  const env = spawnSync('bash', [join(root, 'scripts/services.sh'), 'env'], { encoding: 'utf8' });
  const out = { EMBER_TEST_SERVICES: 'local' };
  for (const line of env.stdout.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1]] = m[2];
  }
  const stop = async () => {
    if (alreadyUp) {
      console.log('run-tests: Kafka and Redis were already running before this run: left running');
      return;
    }
    if (keepServices) {
      console.log(
        'run-tests: EMBER_TEST_KEEP_SERVICES is set: Kafka and Redis left running (bash scripts/services.sh down stops them)',
      );
      return;
    }
    console.log('run-tests: stopping the Kafka broker and Redis this run started');
    spawnSync('bash', [sh, 'down'], { stdio: 'inherit' });
  };
  return { env: out, stop };
}

async function containerServices() {
  const { KafkaContainer } = await import('@testcontainers/kafka');
  const { RedisContainer } = await import('@testcontainers/redis');
  console.log('run-tests: Docker engine found, starting Kafka and Redis with testcontainers');
  const [kafka, redis] = await Promise.all([
    new KafkaContainer('confluentinc/cp-kafka:7.9.0')
      .withKraft()
      .withEnvironment({
        KAFKA_MESSAGE_MAX_BYTES: '67108864',
        KAFKA_REPLICA_FETCH_MAX_BYTES: '67108864',
        KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      })
      .start(),
    new RedisContainer('redis:7').start(),
  ]);
  return {
    env: {
      EMBER_TEST_SERVICES: 'testcontainers',
      EMBER_TEST_KAFKA_CONTAINER: kafka.getId(),
      EMBER_TEST_KAFKA_BROKERS: `${kafka.getHost()}:${kafka.getMappedPort(9093)}`,
      EMBER_TEST_REDIS_URL: redis.getConnectionUrl(),
      EMBER_TEST_REDIS_CONTAINER: redis.getId(),
    },
    stop: async () => {
      await Promise.allSettled([kafka.stop(), redis.stop()]);
    },
  };
}

async function main() {
  if (mode === 'unit' || mode === 'all') run(unitFiles(), 'unit');
  if (mode === 'integration' || mode === 'e2e' || mode === 'all') {
    const services = dockerAvailable() ? await containerServices() : localServices();
    const env = services.env;
    console.log(
      `services (${env.EMBER_TEST_SERVICES}): kafka=${env.EMBER_TEST_KAFKA_BROKERS} redis=${env.EMBER_TEST_REDIS_URL}`,
    );
    try {
      if (interrupted) throw new Error(`interrupted (${interrupted})`);
      if (mode !== 'e2e')
        run(suiteFiles('integration'), 'integration (real Kafka + Redis)', env, 1);
      if (mode !== 'integration') run(suiteFiles('e2e'), 'e2e (real Kafka + Redis)', env, 1);
    } finally {
      await services.stop();
    }
  }
}

main().catch((err) => {
  console.error(`run-tests: ${err.message}`);
  process.exitCode ||= 1;
});
