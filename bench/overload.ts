// The overload benchmark (`npm run bench -- overload`): SENDERS concurrent senders of 1.5 MB
// uploads (bench/overload/payload.ts: a Go SDK multipart form, gzipped pprof with 12,000 stacks)
// for DURATION against
//   - embedded: one process, EMBER_TARGETS=all, in-process queue and store (`npm start`);
//   - cluster:  three processes (ingest, decoder, exporter) on the real Kafka and Redis
//               (scripts/services.sh, on EMBER_SVC_KAFKA_PORT / EMBER_SVC_REDIS_PORT).
// It prints, per topology: accepted uploads/s, the share of 429 and 503 answers and how many of
// them carried Retry-After, p50/p99 latency, transport errors (a connection reset counts here),
// peak RSS and its growth over the idle baseline for each process next to the in-flight budget
// the process reports, and the worst /healthz latency seen by a prober polling every process.
// Goals (issue 13): RSS growth < 3x the in-flight budget, /healthz < 1 s, no connection reset.
//
// The load generator is a separate process (bench/overload/load-generator.ts) whose own CPU time
// is printed next to the elapsed time, so a saturated generator shows. RSS is sampled from
// /proc/<pid>/status every 100 ms. After the load, the benchmark waits until the exporter has
// stored every accepted upload (or 120 s) and prints how long that took: accepted means durable,
// not dropped.
//
// Settings (environment): EMBER_BENCH_SENDERS (200), EMBER_BENCH_DURATION_S (30),
// EMBER_BENCH_TOPOLOGIES (embedded,cluster), EMBER_BENCH_RESPECT_RETRY_AFTER (false: senders
// send again at once, the harsher case), EMBER_BENCH_TENANTS (1), EMBER_BENCH_SERVER_ENV (extra
// KEY=VALUE,... for the Emberflow processes). Tenants have no ingestion rate limit here (a config
// file with limits.ingestionRateBytes: 0): the process is under test, not a tenant's policy.
//
// Run alone:  npx tsc -p tsconfig.build.json && node dist/bench/overload.js
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomUUID } from 'node:crypto';
import { repoRoot } from '../test/support/paths.js';
import { startEmberflow, type EmberProcess } from '../test/support/emberflow-process.js';
import type { BenchResult } from './bench-result.js';
import type { LoadConfig, LoadReport } from './overload/load-generator.js';
import { overloadPayload } from './overload/payload.js';

const env = process.env;
const SENDERS = Number(env.EMBER_BENCH_SENDERS ?? 200);
const DURATION_MS = Number(env.EMBER_BENCH_DURATION_S ?? 30) * 1000;
const TOPOLOGIES = (env.EMBER_BENCH_TOPOLOGIES ?? 'embedded,cluster').split(',').filter(Boolean);
const RESPECT_RETRY_AFTER = /^(1|true|yes)$/i.test(env.EMBER_BENCH_RESPECT_RETRY_AFTER ?? '');
const TENANTS = Number(env.EMBER_BENCH_TENANTS ?? 1);
const SERVER_ENV: Record<string, string> = Object.fromEntries(
  (env.EMBER_BENCH_SERVER_ENV ?? '')
    .split(',')
    .filter((kv) => kv.includes('='))
    .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
);
const MiB = 1024 * 1024;

interface ProcessFigures {
  targets: string;
  baselineRssBytes: number;
  peakRssBytes: number;
  /** emberflow_ingest_inflight_budget_bytes, NaN where the process has no ingest */
  budgetBytes: number;
  healthzWorstMs: number;
  healthzOver1s: number;
  healthzFailures: number;
}

interface TopologyFigures {
  topology: string;
  load: LoadReport;
  processes: ProcessFigures[];
  stored: number;
  drainMs: number;
}

function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

async function metric(url: string, name: string, labels = ''): Promise<number> {
  try {
    const text = await (
      await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) })
    ).text();
    let sum = NaN;
    for (const line of text.split('\n')) {
      if (!line.startsWith(name)) continue;
      const rest = line.slice(name.length);
      if (!(rest.startsWith(' ') || rest.startsWith('{'))) continue;
      if (labels && !rest.includes(labels)) continue;
      const v = Number(line.slice(line.lastIndexOf(' ') + 1));
      sum = Number.isNaN(sum) ? v : sum + v;
    }
    return sum;
  } catch {
    return NaN;
  }
}

/** Polls /healthz of a process back to back (at most every 100 ms) until stopped. */
function healthProber(url: string): {
  stop(): Promise<{ worst: number; over1s: number; failures: number }>;
} {
  let running = true;
  let worst = 0;
  let over1s = 0;
  let failures = 0;
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      try {
        const r = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(10_000) });
        await r.arrayBuffer();
        if (r.status !== 200) failures++;
      } catch {
        failures++;
      }
      const ms = performance.now() - t0;
      worst = Math.max(worst, ms);
      if (ms >= 1000) over1s++;
      await new Promise((r) => setTimeout(r, Math.max(0, 100 - ms)));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { worst, over1s, failures };
    },
  };
}

function rssSampler(pids: number[]): { stop(): number[] } {
  const peak = pids.map(() => 0);
  const t = setInterval(() => {
    pids.forEach((pid, i) => (peak[i] = Math.max(peak[i], rssBytes(pid) || 0)));
  }, 100);
  return {
    stop: () => {
      clearInterval(t);
      return peak;
    },
  };
}

function runLoadProcess(config: LoadConfig): Promise<LoadReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(repoRoot(), 'dist/bench/overload/load-generator.js'), JSON.stringify(config)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`load generator exited with ${code}`));
      else resolve(JSON.parse(out.trim().split('\n').pop()!) as LoadReport);
    });
  });
}

function startServices(): Record<string, string> {
  const script = join(repoRoot(), 'scripts/services.sh');
  const up = spawnSync('bash', [script, 'up'], { stdio: 'inherit' });
  if (up.status !== 0)
    throw new Error('scripts/services.sh up failed: the cluster topology needs Kafka and Redis');
  const out = spawnSync('bash', [script, 'env'], { encoding: 'utf8' }).stdout;
  const vars = Object.fromEntries(
    out
      .split('\n')
      .map((l) => /^([A-Z_]+)=(.*)$/.exec(l.trim()))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1], m[2]]),
  );
  return {
    EMBER_KAFKA_BROKERS: vars.EMBER_TEST_KAFKA_BROKERS,
    EMBER_REDIS_URL: vars.EMBER_TEST_REDIS_URL,
    EMBER_NAMESPACE: `bench-${randomUUID().slice(0, 8)}.`,
  };
}

async function runTopology(
  topology: string,
  payloadPath: string,
  contentType: string,
  pprofBytes: number,
): Promise<TopologyFigures> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ember-overload-'));
  // No per-tenant rate limit: the benchmark measures the process under load, not a tenant's
  // policy (EMBER_BENCH_SERVER_ENV=EMBER_CONFIG=... brings one back).
  const configPath = join(dataDir, 'bench.yaml');
  writeFileSync(configPath, 'limits:\n  ingestionRateBytes: 0\n');
  const base = {
    EMBER_DATA_DIR: dataDir,
    EMBER_LOG_LEVEL: 'warn',
    EMBER_CONFIG: configPath,
    ...SERVER_ENV,
  };
  const procs: EmberProcess[] = [];
  try {
    if (topology === 'embedded') {
      procs.push(await startEmberflow({ targets: 'all', env: base }));
    } else if (topology === 'cluster') {
      const svc = { ...base, ...startServices() };
      // exporter first: it owns the embedded store the others feed
      procs.push(await startEmberflow({ targets: 'exporter', env: svc }));
      procs.push(await startEmberflow({ targets: 'decoder', env: svc }));
      procs.push(await startEmberflow({ targets: 'ingest', env: svc }));
    } else throw new Error(`unknown topology ${topology}: use embedded or cluster`);
    const ingest = procs.find((p) => p.targets === 'all' || p.targets === 'ingest')!;
    const exporter = procs.find((p) => p.targets === 'all' || p.targets === 'exporter')!;
    const sent = (): Promise<number> =>
      metric(exporter.url, 'emberflow_exporter_series_total', 'backend="embedded",outcome="sent"');

    // warm-up: a few uploads one after the other, then let the pipeline go quiet
    const warm = await runLoadProcess({
      url: ingest.url,
      senders: 1,
      durationMs: 3_000,
      payloadPath,
      contentType,
      respectRetryAfter: true,
      tenants: [],
    });
    const warmAccepted = warm.byStatus['200'] ?? 0;
    for (let i = 0; i < 300 && ((await sent()) || 0) < warmAccepted; i++)
      await new Promise((r) => setTimeout(r, 200));
    await new Promise((r) => setTimeout(r, 2_000));
    const baseline = procs.map((p) => rssBytes(p.pid));
    // 0 where the process runs no ingest
    const budgets = (
      await Promise.all(procs.map((p) => metric(p.url, 'emberflow_ingest_inflight_budget_bytes')))
    ).map((b) => (b > 0 ? b : NaN));
    const storedBefore = (await sent()) || 0;

    const probers = procs.map((p) => healthProber(p.url));
    const rss = rssSampler(procs.map((p) => p.pid));
    const tenants = TENANTS > 1 ? Array.from({ length: TENANTS }, (_, i) => `tenant-${i}`) : [];
    const load = await runLoadProcess({
      url: ingest.url,
      senders: SENDERS,
      durationMs: DURATION_MS,
      payloadPath,
      contentType,
      respectRetryAfter: RESPECT_RETRY_AFTER,
      tenants,
    });
    // keep probing and sampling while the pipeline drains what was accepted
    const accepted = load.byStatus['200'] ?? 0;
    const t0 = Date.now();
    let stored = 0;
    while (Date.now() - t0 < 120_000) {
      stored = ((await sent()) || 0) - storedBefore;
      if (stored >= accepted) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const drainMs = Date.now() - t0;
    const peaks = rss.stop();
    const health = await Promise.all(probers.map((p) => p.stop()));
    void pprofBytes;
    return {
      topology,
      load,
      stored,
      drainMs,
      processes: procs.map((p, i) => ({
        targets: p.targets,
        baselineRssBytes: baseline[i],
        peakRssBytes: peaks[i],
        budgetBytes: budgets[i],
        healthzWorstMs: health[i].worst,
        healthzOver1s: health[i].over1s,
        healthzFailures: health[i].failures,
      })),
    };
  } finally {
    await Promise.allSettled(procs.reverse().map((p) => p.stop()));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const mb = (b: number): string => (Number.isFinite(b) ? `${(b / MiB).toFixed(0)} MiB` : 'n/a');

function report(f: TopologyFigures): string {
  const l = f.load;
  const s = l.elapsedMs / 1000;
  const accepted = l.byStatus['200'] ?? 0;
  const answered = Object.values(l.byStatus).reduce((a, b) => a + b, 0);
  const pct = (n: number): string => `${((100 * n) / Math.max(1, answered)).toFixed(1)}%`;
  const lines = [
    `### ${f.topology}: ${SENDERS} senders x ${(l.bodyBytes / Math.max(1, l.sent) / MiB).toFixed(2)} MiB for ${s.toFixed(1)} s`,
    `accepted        ${(accepted / s).toFixed(1)} uploads/s (${accepted} of ${l.sent} sent; ${((accepted * l.bodyBytes) / Math.max(1, l.sent) / MiB / s).toFixed(1)} MiB/s)`,
    `answers         ${Object.entries(l.byStatus)
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ')}`,
    `shed            429 ${pct(l.byStatus['429'] ?? 0)}, 503 ${pct(l.byStatus['503'] ?? 0)}; with Retry-After ${l.shedWithRetryAfter} of ${l.shed}`,
    `latency         all p50 ${l.latencyMs.p50.toFixed(0)} ms, p99 ${l.latencyMs.p99.toFixed(0)} ms; accepted p50 ${l.acceptedLatencyMs.p50.toFixed(0)} ms, p99 ${l.acceptedLatencyMs.p99.toFixed(0)} ms; shed p99 ${l.shedLatencyMs.p99.toFixed(0)} ms`,
    `transport       ${Object.keys(l.errors).length === 0 ? 'no errors (no connection reset)' : JSON.stringify(l.errors)}`,
    `generator CPU   ${(l.cpuMs / 1000).toFixed(1)} s over ${s.toFixed(1)} s (${((100 * l.cpuMs) / l.elapsedMs).toFixed(0)}% of one core)`,
    `drained         ${f.stored} of ${accepted} accepted uploads stored ${f.stored >= accepted ? `${(f.drainMs / 1000).toFixed(1)} s after the load` : `after waiting ${(f.drainMs / 1000).toFixed(0)} s`}`,
  ];
  for (const p of f.processes) {
    const growth = p.peakRssBytes - p.baselineRssBytes;
    const ratio = Number.isFinite(p.budgetBytes)
      ? ` = ${(growth / p.budgetBytes).toFixed(2)}x the in-flight budget of ${mb(p.budgetBytes)}`
      : '';
    lines.push(
      `${p.targets.padEnd(8)}        RSS ${mb(p.baselineRssBytes)} idle, peak ${mb(p.peakRssBytes)}, growth ${mb(growth)}${ratio}; /healthz worst ${p.healthzWorstMs.toFixed(0)} ms (${p.healthzOver1s} over 1 s, ${p.healthzFailures} failed)`,
    );
  }
  return lines.join('\n');
}

export async function runOverloadBench(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'ember-overload-payload-'));
  const payload = overloadPayload();
  const payloadPath = join(dir, 'upload.bin');
  writeFileSync(payloadPath, payload.body);
  console.log(
    `overload: upload of ${payload.body.length} bytes (gzipped pprof ${payload.pprofBytes} bytes, ${payload.stacks} stacks); ${SENDERS} senders for ${DURATION_MS / 1000} s; ${RESPECT_RETRY_AFTER ? 'senders wait Retry-After' : 'senders send again at once'}; server env ${JSON.stringify(SERVER_ENV)}\n`,
  );
  const results: BenchResult[] = [];
  try {
    for (const t of TOPOLOGIES) {
      const f = await runTopology(t, payloadPath, payload.contentType, payload.pprofBytes);
      console.log(`${report(f)}\n`);
      const s = f.load.elapsedMs / 1000;
      results.push({
        name: `${t}: accepted uploads/s`,
        ours: (f.load.byStatus['200'] ?? 0) / s,
        reference: NaN,
        unit: 'uploads/s',
        ratio: NaN,
      });
      for (const p of f.processes) {
        const growth = (p.peakRssBytes - p.baselineRssBytes) / MiB;
        if (Number.isFinite(p.budgetBytes)) {
          const goal = (3 * p.budgetBytes) / MiB;
          results.push({
            name: `${t}/${p.targets}: RSS growth vs 3x budget`,
            ours: growth,
            reference: goal,
            unit: 'MiB',
            ratio: goal / growth,
          });
        }
        results.push({
          name: `${t}/${p.targets}: worst /healthz vs 1 s`,
          ours: p.healthzWorstMs,
          reference: 1000,
          unit: 'ms',
          ratio: 1000 / p.healthzWorstMs,
        });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runOverloadBench().then(
    () => process.exit(0),
    (err) => {
      console.error((err as Error).stack);
      process.exit(1);
    },
  );
}
