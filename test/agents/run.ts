import { randomUUID } from 'node:crypto';
import { mkdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { startEmberflow, tempDataDir, type EmberProcess } from '../support/emberflow-process.js';
import { repoRoot } from '../support/paths.js';
import { type AgentCase, cases, notCovered } from './cases.js';
import {
  CaseFailure,
  type Window,
  endAll,
  flamegraph,
  inclusiveShare,
  labelValues,
  pollUntil,
  run,
  spanFlamegraph,
  tail,
  topFrames,
} from './harness.js';

// The agent compatibility suite: `npm run test:agents [-- [--embedded] [case ...]]`.
//
// Each case installs one official Pyroscope agent into .cache/agents/ (git-ignored; later runs
// reuse it), runs a small program of ours with a known hot function under it, configured like
// Datakit's Pyroscope docs (server address = Emberflow, application name, tags host, service,
// version, env, process_id, runtime_id; a short upload interval), and then asks Emberflow's
// query API whether the expected profile types arrived with those tags and whether the hot
// function dominates the CPU (or wall) profile. A case whose toolchain or agent cannot be
// installed fails. The last line is `N passed, N failed`.
//
// Emberflow runs as one process (all targets) on a free loopback port, on the real Kafka broker
// and Redis from scripts/services.sh (as `npm test` does), or with --embedded (or
// EMBER_AGENTS_EMBEDDED=1) on its in-process stand-ins.

const RUN_SECONDS = Number(process.env.EMBER_AGENTS_RUN_SECONDS ?? 20);
const UPLOAD_INTERVAL_S = 5;
const ARRIVAL_TIMEOUT_MS = Number(process.env.EMBER_AGENTS_ARRIVAL_TIMEOUT_MS ?? 45_000);
const TAG_NAMES = ['host', 'service', 'version', 'env', 'process_id', 'runtime_id'] as const;

// Real paths: a checkout reached through symbolic links must not look like a second cache to
// cargo and go, whose caches are keyed by the source paths.
const root = dirname(dirname(realpathSync(join(repoRoot(), 'test/agents'))));
// EMBER_AGENTS_CACHE moves the cache (e.g. to a volume CI keeps between runs, or an empty folder
// to time a first run).
const cacheDir = process.env.EMBER_AGENTS_CACHE ?? join(repoRoot(), '.cache/agents');
mkdirSync(cacheDir, { recursive: true });
const cache = realpathSync(cacheDir);
const logs = join(cache, 'logs');

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}

function services(): Record<string, string> {
  if (process.env.EMBER_TEST_KAFKA_BROKERS && process.env.EMBER_TEST_REDIS_URL)
    return {
      EMBER_KAFKA_BROKERS: process.env.EMBER_TEST_KAFKA_BROKERS,
      EMBER_REDIS_URL: process.env.EMBER_TEST_REDIS_URL,
    };
  const sh = join(root, 'scripts/services.sh');
  const up = spawnSync('bash', [sh, 'up'], { stdio: 'inherit' });
  if (up.status !== 0)
    throw new Error(
      'scripts/services.sh up failed: no Kafka/Redis (use --embedded to run on the in-process stand-ins)',
    );
  const env = spawnSync('bash', [sh, 'env'], { encoding: 'utf8' });
  const out: Record<string, string> = {};
  for (const line of env.stdout.split('\n')) {
    const m = /^EMBER_TEST_(KAFKA_BROKERS|REDIS_URL)=(.+)$/.exec(line.trim());
    if (m) out[`EMBER_${m[1]}`] = m[2];
  }
  if (!out.EMBER_KAFKA_BROKERS || !out.EMBER_REDIS_URL)
    throw new Error(`scripts/services.sh env printed no addresses:\n${env.stdout}${env.stderr}`);
  return out;
}

async function runCase(c: AgentCase, ember: EmberProcess): Promise<string> {
  const logFile = join(logs, `${c.name}.log`);
  const t0 = Date.now();
  const launch = await c.prepare({ root, cache, logFile });
  const tPrepared = Date.now();
  console.log(`  agent: ${launch.versions}`);

  const app = `ember-agents-${c.name}-${randomUUID().slice(0, 8)}`;
  const tags: Record<string, string> = {
    host: hostname(),
    service: `svc-${c.name}`,
    version: '1.2.3',
    env: 'agents-suite',
    runtime_id: randomUUID(),
  };
  const since = Date.now() - 60_000;
  let spans: { hot: string; cold: string } | undefined;
  let traces: { hot: string; cold: string } | undefined;
  let pid = '';
  const r = await run(launch.cmd, launch.args, {
    cwd: launch.cwd,
    timeoutMs: (RUN_SECONDS + 60) * 1000,
    logFile,
    env: {
      ...process.env,
      NO_PROXY: '127.0.0.1,localhost',
      no_proxy: '127.0.0.1,localhost',
      ...launch.env,
      PYROSCOPE_SERVER_ADDRESS: ember.url,
      PYROSCOPE_APPLICATION_NAME: app,
      PYROSCOPE_LABELS: Object.entries(tags)
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
      PYROSCOPE_UPLOAD_INTERVAL: c.name.startsWith('java')
        ? `${UPLOAD_INTERVAL_S}s`
        : String(UPLOAD_INTERVAL_S),
      EMBER_RUN_SECONDS: String(RUN_SECONDS),
      EMBER_MODE: c.mode,
      ...(c.traces === 'http'
        ? { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${ember.url}/otel/v1/traces` }
        : {}),
      ...(c.traces === 'grpc' && ember.grpcAddress
        ? { EMBER_OTLP_GRPC_ENDPOINT: ember.grpcAddress }
        : {}),
    },
    onLine: (line) => {
      const s = /EMBER_SPANS hot=([0-9a-f]+) cold=([0-9a-f]+)/.exec(line);
      if (s) spans = { hot: s[1], cold: s[2] };
      const t = /EMBER_TRACES hot=([0-9a-f]+) cold=([0-9a-f]+)/.exec(line);
      if (t) traces = { hot: t[1], cold: t[2] };
      const p = /EMBER_READY pid=(\d+)/.exec(line);
      if (p) pid = p[1];
    },
  });
  const tRan = Date.now();
  if (r.timedOut || r.code !== 0)
    throw new CaseFailure(
      `the program under the agent ${r.timedOut ? 'timed out' : `exited ${r.code ?? r.signal}`}`,
      tail(r.output),
    );
  if (!pid) throw new CaseFailure('the program never printed EMBER_READY', tail(r.output));
  if (pid !== String(r.pid))
    throw new CaseFailure(`the program reports pid ${pid}, the suite started pid ${r.pid}`);
  // process_id is set by the program itself (Java: by the start script), as Datakit's docs do
  tags.process_id = pid;
  if (c.mode === 'spans' && !spans)
    throw new CaseFailure('the program never printed its span ids', tail(r.output));
  if (c.traces && !traces)
    throw new CaseFailure('the program never printed its trace ids', tail(r.output));

  const base = `{service_name="${app}"}`;
  const full = `{service_name="${app}",${Object.entries(tags)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',')}}`;
  const now = (): Window => ({ start: since, end: Date.now() + 60_000 });

  // 1. every expected profile type arrives
  const arrived = await pollUntil(ARRIVAL_TIMEOUT_MS, async () => {
    const got = await labelValues(ember.url, '__profile_type__', base, now());
    return c.expectTypes.every((t) => got.includes(t)) ? got : undefined;
  });
  if (!arrived.value) {
    let got: string[] = [];
    try {
      got = await labelValues(ember.url, '__profile_type__', base, now());
    } catch (err) {
      got = [`(query failed: ${String(err)})`];
    }
    const missing = c.expectTypes.filter((t) => !got.includes(t));
    throw new CaseFailure(
      `profile types missing after ${secs(ARRIVAL_TIMEOUT_MS)}: ${missing.join(', ')}; arrived: ${got.join(', ') || 'none'}`,
      emberflowDiagnosis(ember, app, r.output),
    );
  }

  // Steps 2-4 run again until they hold or the time is up: with Kafka between ingest and the
  // store, the last uploads land a few seconds after the first ones.
  const checks = async (): Promise<string> => {
    // 2. with the configured tags
    for (const name of TAG_NAMES) {
      const values = await labelValues(ember.url, name, base, now());
      if (values.length !== 1 || values[0] !== tags[name])
        throw new CaseFailure(
          `tag ${name}: expected ["${tags[name]}"], Emberflow has ${JSON.stringify(values)}`,
        );
    }
    for (const t of c.expectTypes) {
      const fg = await flamegraph(ember.url, t, full, now());
      if (!(Number(fg.total) > 0))
        throw new CaseFailure(`profile type ${t} has no samples under ${full}`);
    }

    // 3. the hot function dominates
    const fg = await flamegraph(ember.url, c.dominant.type, full, now());
    const hot = inclusiveShare(fg, c.dominant.hot);
    const cold = inclusiveShare(fg, c.dominant.cold);
    // In span cases the hot function must dominate the hot span's samples (step 4); over the
    // whole process it only has to beat the cold one, since the OpenTelemetry Java agent's
    // start-up (class instrumentation, JIT) can take much of a short run's CPU.
    const minShare = c.mode === 'spans' ? 0 : 0.5;
    if (!(hot >= minShare && hot > 2 * cold))
      throw new CaseFailure(
        `hot function ${c.dominant.hot.source} holds ${(100 * hot).toFixed(1)}% of ${c.dominant.type} (cold ${(100 * cold).toFixed(1)}%); want >= ${100 * minShare}% and > 2x cold. Top frames: ${topFrames(fg)}`,
      );
    let note = `hot ${(100 * hot).toFixed(0)}% of ${c.dominant.type.split(':')[0]}`;

    // 4. span cases: each span's id selects that span's samples
    if (c.mode === 'spans' && spans) {
      for (const [which, id, want, other] of [
        ['hot', spans.hot, c.dominant.hot, c.dominant.cold],
        ['cold', spans.cold, c.dominant.cold, c.dominant.hot],
      ] as const) {
        const s = await spanFlamegraph(
          ember.url,
          c.dominant.type,
          base,
          c.spanLabel ?? 'span_id',
          id,
          now(),
        );
        const mine = inclusiveShare(s.fg, want);
        const theirs = inclusiveShare(s.fg, other);
        if (!(Number(s.fg.total) > 0 && mine >= 0.8 && theirs <= 0.05))
          throw new CaseFailure(
            `span ${which} (${id}) via ${s.how}: ${want.source} ${(100 * mine).toFixed(1)}%, ${other.source} ${(100 * theirs).toFixed(1)}% of ${s.fg.total}; want >= 80% and <= 5%. Top frames: ${topFrames(s.fg)}`,
          );
        if (which === 'hot')
          note = `${note}; hot span ${(100 * mine).toFixed(0)}% hot via ${s.how}`;
        // 5. the span's trace, exported to /otel/v1/traces, reads back through Tempo's API
        if (c.traces && traces) {
          const traceId = traces[which];
          const tr = await fetch(`${ember.url}/api/traces/${traceId}`);
          if (tr.status !== 200)
            throw new CaseFailure(
              `trace ${traceId} of span ${which}: /api/traces answered ${tr.status}`,
            );
          const body = JSON.stringify(await tr.json());
          // Tempo's JSON: ids in base64, as gogo jsonpb writes bytes
          const spanB64 = Buffer.from(id, 'hex').toString('base64');
          if (!body.includes(`"spanId":"${spanB64}"`) || !body.includes(`"stringValue":"${app}"`))
            throw new CaseFailure(
              `trace ${traceId} does not hold span ${id} of service ${app}: ${body.slice(0, 300)}`,
            );
        }
      }
      if (c.traces) note = `${note}; both traces readable through /api/traces`;
    }
    return note;
  };
  const note = await settle(ARRIVAL_TIMEOUT_MS, checks);
  const tDone = Date.now();
  return `${note}; setup ${secs(tPrepared - t0)}, run ${secs(tRan - tPrepared)}, checks ${secs(tDone - tRan)}`;
}

/** Runs `check` until it passes or `timeoutMs` is over; then its last CaseFailure is thrown. */
async function settle<T>(timeoutMs: number, check: () => Promise<T>): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (!(err instanceof CaseFailure) || Date.now() > end) throw err;
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/** Emberflow's log lines from this case (rejected uploads, decode failures), for a failure. */
function emberflowDiagnosis(ember: EmberProcess, app: string, programOutput: string): string {
  const lines = ember
    .output()
    .split('\n')
    .filter((l) => /reject|discard|fail|error|warn/i.test(l));
  const mine = lines.filter((l) => l.includes(app));
  const shown = (mine.length > 0 ? mine : lines).slice(-12).map((l) => l.slice(0, 400));
  return [
    'Emberflow log (rejections, errors):',
    ...(shown.length > 0 ? shown : ['(nothing)']),
    'agent program output (tail):',
    tail(programOutput, 15),
  ].join('\n');
}

async function alive(ember: EmberProcess): Promise<boolean> {
  try {
    return (await fetch(`${ember.url}/readyz`)).status === 200;
  } catch {
    return false;
  }
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const embedded = args.includes('--embedded') || process.env.EMBER_AGENTS_EMBEDDED === '1';
  const filters = args.filter((a) => !a.startsWith('--'));
  const selected = cases.filter(
    (c) => filters.length === 0 || filters.some((f) => c.name === f || c.name.startsWith(`${f}-`)),
  );
  if (selected.length === 0) {
    console.error(
      `no case matches ${filters.join(' ')}; cases: ${cases.map((c) => c.name).join(' ')}`,
    );
    return 2;
  }
  mkdirSync(logs, { recursive: true });
  const t0 = Date.now();
  let passed = 0;
  let failed = 0;

  let env: Record<string, string> = {};
  // Each Emberflow gets its own Kafka namespace (topics, consumer groups, Redis keys), as the
  // e2e suites do: other test runs on the same broker never consume this suite's uploads.
  const boot = (): Promise<EmberProcess> =>
    startEmberflow({
      targets: 'all',
      // the gRPC edge on a free test port: the Python case exports its spans over OTLP/gRPC
      grpc: true,
      env: {
        ...env,
        ...(embedded
          ? {}
          : {
              EMBER_NAMESPACE: `agents-${randomUUID().slice(0, 8)}.`,
              EMBER_KAFKA_RAW_PARTITIONS: '2',
              EMBER_KAFKA_NORMALIZED_PARTITIONS: '2',
            }),
        EMBER_DATA_DIR: tempDataDir('ember-agents-'),
      },
    });
  let ember: EmberProcess;
  try {
    if (!embedded) env = services();
    ember = current = await boot();
    console.log(
      `emberflow at ${ember.url} (${embedded ? 'embedded queue and store' : `kafka ${env.EMBER_KAFKA_BROKERS}, redis ${env.EMBER_REDIS_URL}`}); logs in ${logs}`,
    );
  } catch (err) {
    console.error(`cannot start Emberflow for the suite: ${(err as Error).message}`);
    for (const c of selected) console.log(`FAIL ${c.name}: Emberflow did not start`);
    console.log(`0 passed, ${selected.length} failed`);
    return 1;
  }

  /** A live Emberflow: the current one, or a new one when it is gone (its output is kept). */
  const ensure = async (label: string): Promise<EmberProcess> => {
    if (await alive(ember)) return ember;
    const out = ember.output();
    writeFileSync(join(logs, `emberflow-gone-${label}.log`), out);
    console.log(`  emberflow at ${ember.url} is gone; its last output:\n${indent(tail(out, 6))}`);
    ember = current = await boot();
    console.log(`  emberflow restarted at ${ember.url}`);
    return ember;
  };

  for (const c of selected) {
    console.log(`\n▶ ${c.name}: ${c.title}`);
    const started = Date.now();
    rmSync(join(logs, `${c.name}.log`), { force: true });
    let outcome: { note: string } | { failure: CaseFailure } | undefined;
    for (let attempt = 1; attempt <= 2 && !(outcome && 'note' in outcome); attempt++) {
      let target: EmberProcess;
      try {
        target = await ensure(`${c.name}-${attempt}`);
      } catch (err) {
        outcome = {
          failure: new CaseFailure(`Emberflow did not restart: ${(err as Error).message}`),
        };
        break;
      }
      try {
        outcome = { note: await runCase(c, target) };
      } catch (err) {
        const f =
          err instanceof CaseFailure ? err : new CaseFailure(String((err as Error)?.stack ?? err));
        outcome = { failure: f };
        // Emberflow stopped by a SIGTERM from outside the suite (another test run on this
        // machine, an operator) during the case says nothing about the agent: run it once more.
        // A crash (no SIGTERM) is Emberflow's failure and is reported as it is.
        if (attempt === 1 && !(await alive(target)) && /SIGTERM received/.test(target.output())) {
          console.log(
            `  emberflow was stopped from outside (SIGTERM) during the case: ${f.message}`,
          );
          console.log('  running the case once more on a new Emberflow');
          continue;
        }
        break;
      }
    }
    if (outcome && 'note' in outcome) {
      passed++;
      console.log(`ok ${c.name} (${secs(Date.now() - started)}): ${outcome.note}`);
    } else {
      failed++;
      const f = outcome?.failure ?? new CaseFailure('not run');
      console.log(`FAIL ${c.name} (${secs(Date.now() - started)}): ${f.message}`);
      if (f.detail) console.log(indent(f.detail));
      console.log(`    full log: ${join(logs, `${c.name}.log`)}`);
    }
  }
  writeFileSync(join(logs, 'emberflow.log'), ember.output());
  await ember.stop();

  console.log('');
  for (const n of notCovered) console.log(`not covered: ${n.name}: ${n.why}`);
  console.log(`suite time ${secs(Date.now() - t0)}`);
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

let current: EmberProcess | undefined;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    // End what this suite started (agents, builds, Emberflow), by their ids, then stop.
    endAll();
    void (current?.kill() ?? Promise.resolve()).finally(() => process.exit(130));
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    console.log('0 passed, 1 failed');
    process.exit(1);
  },
);
