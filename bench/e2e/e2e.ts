// `npm run bench -- e2e`: the whole service under the load agents put on it.
//
// A load generator in a process of its own (bench/e2e/load-generator.ts) posts the Go SDK's
// multipart pprof (18 KB) or the Java agent's multipart JFR (250 KB), each request with its own
// time range, from 1 to 64 concurrent senders over keep-alive connections, to Emberflow in one
// process on embedded defaults, and in three processes on Kafka and Redis. Per step it reports:
//
// - accepted uploads/s (answers 2xx over the load window), p50/p99 latency, other answers;
// - server CPU per accepted upload, from each process's own CPU time in /proc (all threads),
//   from the start of the load until everything accepted is stored, so work that lags behind
//   the edge is counted; Kafka and Redis apart; the load generator's own CPU per request;
// - event-loop delay p99 of every Emberflow process (its emberflow_nodejs_eventloop_lag_p99
//   gauge, which resets at each scrape: the worst of the scrape windows);
// - peak RSS of every process (sampled every 100 ms);
// - the time from the end of the load until everything accepted is queryable (the exporter's
//   count of series stored in the embedded store reaches accepted x series per upload);
// - whether every accepted upload was stored: the store's flame-graph total of the step's
//   service equals accepted x one upload's total (computed here with the same decoders).
//
// Side by side, the floors of this stack with the same generator and bodies: a bare Fastify
// server and a bare NestJS-on-Fastify server (bench/e2e/floor-http.ts), and the Kafka producer
// alone (bench/e2e/floor-kafka.ts). The ratios printed at the end are Emberflow against them.
//
// Options (after `npm run bench -- e2e`):
//   --topology=one,three     one | three | one-kafka
//   --payload=pprof,jfr
//   --senders=1,4,16,64
//   --duration=10            seconds of load per step
//   --warmup=6               seconds of load before the first step of each deployment and payload
//   --floors=fastify,nest,kafka   or --floors=none
//   --cpu-prof               write V8 CPU profiles of the Emberflow processes to artifacts/e2e-prof
//   --env=KEY=VALUE          extra environment for the Emberflow processes (repeatable)
// Kafka and Redis are the ones scripts/services.sh runs (EMBER_SVC_KAFKA_PORT,
// EMBER_SVC_REDIS_PORT); they are started when needed.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { repoRoot } from '../../test/support/paths.js';
import type { BenchResult } from '../bench-result.js';
import type { FloorKafkaRequest, FloorKafkaResult } from './floor-kafka.js';
import type { LoadRequest, LoadResult } from './load-generator.js';
import { buildPayload, innerBytes, type Payload, type PayloadName } from './payloads.js';
import { CpuMeter, RssSampler } from './proc-stats.js';
import {
  TOPOLOGY_TITLES,
  deleteNamespace,
  ensureServices,
  startDeployment,
  startFloorServer,
  type Deployment,
  type ProcessRef,
  type Services,
  type TopologyName,
} from './topologies.js';

type FloorName = 'fastify' | 'nest' | 'kafka';

interface Options {
  topologies: TopologyName[];
  payloads: PayloadName[];
  senders: number[];
  durationMs: number;
  warmupMs: number;
  floors: FloorName[];
  cpuProfDir?: string;
  env: Record<string, string>;
  drainTimeoutMs: number;
}

function parseOptions(argv: readonly string[]): Options {
  const get = (name: string): string | undefined => {
    const a = argv.find((x) => x.startsWith(`--${name}=`));
    return a?.slice(name.length + 3);
  };
  const list = <T extends string>(name: string, allowed: readonly T[], dflt: T[]): T[] => {
    const v = get(name);
    if (v === undefined) return dflt;
    if (v === 'none') return [];
    const items = v.split(',').filter(Boolean) as T[];
    const bad = items.filter((x) => !allowed.includes(x));
    if (bad.length > 0)
      throw new Error(`--${name}: unknown ${bad.join(', ')}; use ${allowed.join(', ')}`);
    return items;
  };
  const senders = (get('senders') ?? '1,4,16,64').split(',').map(Number);
  if (senders.some((n) => !Number.isInteger(n) || n < 1 || n > 1024))
    throw new Error('--senders: whole numbers from 1 to 1024');
  const env: Record<string, string> = {};
  for (const a of argv.filter((x) => x.startsWith('--env='))) {
    const kv = a.slice(6);
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new Error(`--env: KEY=VALUE, got ${kv}`);
    env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  const cpuProfDir = argv.includes('--cpu-prof')
    ? join(repoRoot(), 'artifacts/e2e-prof')
    : undefined;
  return {
    topologies: list<TopologyName>('topology', ['one', 'three', 'one-kafka'], ['one', 'three']),
    payloads: list<PayloadName>('payload', ['pprof', 'jfr'], ['pprof', 'jfr']),
    senders,
    durationMs: Number(get('duration') ?? 10) * 1000,
    warmupMs: Number(get('warmup') ?? 6) * 1000,
    floors: list<FloorName>('floors', ['fastify', 'nest', 'kafka'], ['fastify', 'nest', 'kafka']),
    cpuProfDir,
    env,
    drainTimeoutMs: Number(get('drain-timeout') ?? 300) * 1000,
  };
}

// ------------------------------------------------------------------------------ load generator

class Generator {
  private constructor(
    private readonly child: ChildProcess,
    readonly ref: ProcessRef,
  ) {}

  static async start(): Promise<Generator> {
    const child = fork(join(repoRoot(), 'dist/bench/e2e/load-generator.js'), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`load generator exited with ${code}`)));
    });
    return new Generator(child, { name: 'loadgen', pid: child.pid! });
  }

  run(r: LoadRequest): Promise<LoadResult> {
    return new Promise((resolve, reject) => {
      this.child.once('message', (m: { ok: boolean; result?: LoadResult; error?: string }) => {
        if (m.ok) resolve(m.result!);
        else reject(new Error(`load generator failed: ${m.error}`));
      });
      this.child.send(r);
    });
  }

  stop(): void {
    this.child.kill('SIGTERM');
  }
}

// ------------------------------------------------------------------------------ metrics

async function metricsText(url: string): Promise<string> {
  const r = await fetch(`${url}/metrics`);
  return r.text();
}

function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    if (!Object.entries(labels).every(([k, v]) => rest.includes(`${k}="${v}"`))) continue;
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (!Number.isNaN(v)) {
      sum += v;
      found = true;
    }
  }
  return found ? sum : NaN;
}

const STORED = [
  'emberflow_exporter_series_total',
  { backend: 'embedded', outcome: 'sent' },
] as const;
const LOOP_P99 = 'emberflow_nodejs_eventloop_lag_p99_seconds';
const SHED = 'emberflow_ingest_shed_requests_total';

/** Admission's shed counts by reason, summed over statuses and tenants. */
function shedByReason(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${SHED}{`)) continue;
    const reason = /reason="([^"]+)"/.exec(line)?.[1] ?? '?';
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (!Number.isNaN(v)) out.set(reason, (out.get(reason) ?? 0) + v);
  }
  return out;
}

/** The event-loop p99 (ms) of each process since its previous scrape; the scrape resets it. */
async function loopP99s(procs: readonly ProcessRef[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  await Promise.all(
    procs.map(async (p) => {
      if (!p.url) return;
      out.set(p.name, metricValue(await metricsText(p.url), LOOP_P99) * 1000);
    }),
  );
  return out;
}

function maxInto(into: Map<string, number>, from: Map<string, number>): void {
  for (const [k, v] of from) into.set(k, Math.max(into.get(k) ?? 0, Number.isNaN(v) ? 0 : v));
}

async function flamegraphTotal(url: string, type: string, service: string): Promise<number> {
  const r = await fetch(`${url}/querier.v1.QuerierService/SelectMergeStacktraces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      profileTypeID: type,
      labelSelector: `{service_name="${service}"}`,
      // 0 would mean "the last hour"
      start: 1,
      end: Date.now() + 365 * 86_400_000,
    }),
  });
  if (r.status !== 200)
    throw new Error(`SelectMergeStacktraces answered ${r.status}: ${await r.text()}`);
  const j = (await r.json()) as { flamegraph?: { total?: string } };
  return Number(j.flamegraph?.total ?? 0);
}

// ------------------------------------------------------------------------------ one step

interface Row {
  topology: string;
  payload: PayloadName;
  senders: number;
  load: LoadResult;
  acceptedPerS: number;
  /** CPU ms per accepted upload, per process */
  cpu: Map<string, number>;
  /** Emberflow's processes summed */
  serverCpu: number;
  loop: Map<string, number>;
  rss: Map<string, number>;
  queryableS: number;
  stored: string;
  /** uploads shed by admission control during the step, by reason (ingest's own count) */
  shed?: Map<string, number>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function emberStep(
  d: Deployment,
  gen: Generator,
  p: Payload,
  senders: number,
  durationMs: number,
  o: Options,
  service: string,
): Promise<Row> {
  const all = [...d.processes, ...d.services, gen.ref];
  const pids = new Map(all.map((x) => [x.name, x.pid]));
  const exporter = d.processes[d.processes.length - 1];
  const before = metricValue(await metricsText(d.exporterUrl), ...STORED) || 0;
  const shedBefore = shedByReason(await metricsText(d.ingestUrl));
  await loopP99s(d.processes); // resets the gauges' windows
  const loop = new Map<string, number>();
  const rss = new RssSampler(pids).start();
  const cpu = new CpuMeter(pids);
  const load = await gen.run({
    url: d.ingestUrl,
    payload: p.name,
    service,
    senders,
    durationMs,
    baseSeconds: Math.floor(Date.now() / 1000) - 30 * 86_400,
    timeoutMs: 120_000,
  });
  const loadEnd = Date.now();
  const shed = shedByReason(await metricsText(d.ingestUrl));
  for (const [k, v] of shedBefore) shed.set(k, (shed.get(k) ?? 0) - v);
  maxInto(loop, await loopP99s(d.processes));
  const target = before + load.ok * p.seriesPerUpload;
  let stored = before;
  for (;;) {
    const text = await metricsText(d.exporterUrl);
    stored = metricValue(text, ...STORED) || 0;
    const lp = metricValue(text, LOOP_P99) * 1000;
    maxInto(loop, new Map([[exporter.name, lp]]));
    if (stored >= target || Date.now() - loadEnd > o.drainTimeoutMs) break;
    await sleep(100);
  }
  const queryableS = stored >= target ? (Date.now() - loadEnd) / 1000 : NaN;
  maxInto(loop, await loopP99s(d.processes.filter((x) => x !== exporter)));
  const used = cpu.elapsed();
  const peaks = rss.stop();
  // outside the measured window: does the store hold every accepted upload's samples?
  let storedCheck: string;
  if (stored < target) storedCheck = `MISSING ${target - stored} of ${target - before} series`;
  else {
    const total = await flamegraphTotal(d.exporterUrl, p.checkType, service);
    const want = load.ok * p.checkTotal;
    storedCheck = total === want ? `ok ${load.ok}/${load.ok}` : `TOTAL ${total} != ${want}`;
  }
  const perUpload = new Map<string, number>();
  for (const [k, v] of used) perUpload.set(k, load.ok > 0 ? v / load.ok : NaN);
  const serverCpu = d.processes.reduce((s, x) => s + (perUpload.get(x.name) ?? 0), 0);
  return {
    topology: d.name,
    payload: p.name,
    senders,
    load,
    acceptedPerS: (load.ok * 1000) / load.wallMs,
    cpu: perUpload,
    serverCpu,
    loop,
    rss: peaks,
    queryableS,
    stored: storedCheck,
    shed,
  };
}

async function floorHttpStep(
  kind: 'fastify' | 'nest',
  gen: Generator,
  p: Payload,
  senders: number,
  durationMs: number,
): Promise<Row> {
  const f = await startFloorServer(kind);
  try {
    // warm the server's code before measuring
    await gen.run({
      url: f.url,
      payload: p.name,
      service: 'floor',
      senders,
      durationMs: 2000,
      baseSeconds: 0,
      timeoutMs: 60_000,
    });
    const pids = new Map([
      [kind, f.process.pid],
      ['loadgen', gen.ref.pid],
    ]);
    await f.loopP99();
    const rss = new RssSampler(pids).start();
    const cpu = new CpuMeter(pids);
    const load = await gen.run({
      url: f.url,
      payload: p.name,
      service: 'floor',
      senders,
      durationMs,
      baseSeconds: 0,
      timeoutMs: 60_000,
    });
    const used = cpu.elapsed();
    const loop = new Map([[kind, await f.loopP99()]]);
    const perUpload = new Map([...used].map(([k, v]) => [k, v / Math.max(1, load.ok)]));
    return {
      topology: `floor: ${kind}`,
      payload: p.name,
      senders,
      load,
      acceptedPerS: (load.ok * 1000) / load.wallMs,
      cpu: perUpload,
      serverCpu: perUpload.get(kind) ?? NaN,
      loop,
      rss: rss.stop(),
      queryableS: NaN,
      stored: '-',
    };
  } finally {
    await f.stop();
  }
}

async function floorKafkaStep(
  svc: Services,
  p: Payload,
  senders: number,
  durationMs: number,
): Promise<Row> {
  const namespace = `bench-floor-${randomUUID().slice(0, 8)}.`;
  const req: FloorKafkaRequest = {
    brokers: [svc.brokers],
    namespace,
    payload: p.name,
    senders,
    durationMs,
    warmupMs: 2000,
  };
  const child = spawn(
    process.execPath,
    [join(repoRoot(), 'dist/bench/e2e/floor-kafka.js'), JSON.stringify(req)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const pids = new Map([
    ['producer', child.pid!],
    ['kafka', svc.kafka.pid],
  ]);
  let cpu: CpuMeter | undefined;
  let rss: RssSampler | undefined;
  let used: Map<string, number> | undefined;
  let peaks: Map<string, number> | undefined;
  const result = await new Promise<FloorKafkaResult>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (!cpu && out.includes('measuring\n')) {
        cpu = new CpuMeter(pids);
        rss = new RssSampler(pids).start();
      }
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line && cpu && !used) {
        used = cpu.elapsed();
        peaks = rss!.stop();
        resolve(JSON.parse(line) as FloorKafkaResult);
      }
    });
    child.once('exit', (code) => {
      if (!used) reject(new Error(`kafka floor exited with ${code}`));
    });
  });
  await new Promise((r) => child.once('exit', r));
  await deleteNamespace(svc.brokers, namespace);
  const perUpload = new Map([...used!].map(([k, v]) => [k, v / Math.max(1, result.ok)]));
  const load: LoadResult = {
    sent: result.ok + result.failed,
    ok: result.ok,
    statuses: {},
    failed: result.failed,
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
    maxMs: NaN,
    wallMs: result.wallMs,
    cpuMs: result.cpuMs,
  };
  return {
    topology: 'floor: kafka producer',
    payload: p.name,
    senders,
    load,
    acceptedPerS: (result.ok * 1000) / result.wallMs,
    cpu: perUpload,
    serverCpu: perUpload.get('producer') ?? NaN,
    loop: new Map(),
    rss: peaks!,
    queryableS: NaN,
    stored: '-',
  };
}

// ------------------------------------------------------------------------------ report

const f1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '-');
const f2 = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '-');

function perProcess(
  m: Map<string, number>,
  names: readonly string[],
  fmt: (x: number) => string,
): string {
  return names
    .filter((n) => m.has(n))
    .map((n) => `${n} ${fmt(m.get(n)!)}`)
    .join(', ');
}

const EMBER = ['all', 'ingest', 'decoder', 'exporter', 'fastify', 'nest', 'producer'];

function table(rows: readonly Row[]): string {
  const head = [
    'deployment',
    'payload',
    'senders',
    'accepted/s',
    'p50 ms',
    'p99 ms',
    'other answers',
    'server CPU ms/upload',
    'Kafka ms/upload',
    'Redis ms/upload',
    'loadgen ms/req',
    'event-loop p99 ms',
    'peak RSS MB',
    'queryable after s',
    'stored',
  ];
  const lines = rows.map((r) => {
    const other = Object.entries(r.load.statuses)
      .filter(([s]) => !s.startsWith('2'))
      .map(([s, n]) => `${n}x${s}`);
    if (r.load.failed > 0) other.push(`${r.load.failed} failed`);
    const reasons = [...(r.shed ?? [])].filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`);
    if (reasons.length > 0) other.push(`(shed: ${reasons.join(', ')})`);
    const procCpu = perProcess(r.cpu, EMBER, f2);
    const server =
      EMBER.filter((n) => r.cpu.has(n)).length > 1
        ? `${procCpu} = ${f2(r.serverCpu)}`
        : f2(r.serverCpu);
    return [
      r.topology,
      r.payload,
      String(r.senders),
      f1(r.acceptedPerS),
      f1(r.load.p50Ms),
      f1(r.load.p99Ms),
      other.join(' ') || '-',
      server,
      f2(r.cpu.get('kafka') ?? NaN),
      f2(r.cpu.get('redis') ?? NaN),
      f2(r.cpu.get('loadgen') ?? NaN),
      perProcess(r.loop, EMBER, f1) || '-',
      perProcess(
        new Map([...r.rss].map(([k, v]) => [k, v / 2 ** 20])),
        [...EMBER, 'kafka', 'redis'],
        (x) => x.toFixed(0),
      ),
      f1(r.queryableS),
      r.stored,
    ];
  });
  const rule = head.map(() => '---');
  return [head, rule, ...lines].map((l) => `| ${l.join(' | ')} |`).join('\n');
}

function results(rows: readonly Row[]): BenchResult[] {
  const out: BenchResult[] = [];
  const floor = (kind: string, r: Row) =>
    rows.find(
      (x) => x.topology === `floor: ${kind}` && x.payload === r.payload && x.senders === r.senders,
    );
  for (const r of rows) {
    if (r.topology.startsWith('floor')) continue;
    const http = floor('nest', r);
    const kafka = r.topology === 'one' ? undefined : floor('kafka producer', r);
    const name = `e2e ${r.topology} ${r.payload} x${r.senders}`;
    const refRate = Math.min(http?.acceptedPerS ?? NaN, kafka?.acceptedPerS ?? Infinity);
    out.push({
      name: `${name} accepted`,
      ours: r.acceptedPerS,
      reference: refRate,
      unit: 'uploads/s',
      ratio: r.acceptedPerS / refRate,
    });
    // the floor's CPU: the framework's server, plus for Kafka deployments the producer and broker
    const refCpu =
      (http?.serverCpu ?? NaN) +
      (kafka ? (kafka.cpu.get('producer') ?? 0) + (kafka.cpu.get('kafka') ?? 0) : 0);
    const oursCpu = r.serverCpu + (r.cpu.get('kafka') ?? 0) + (r.cpu.get('redis') ?? 0);
    out.push({
      name: `${name} CPU`,
      ours: oursCpu,
      reference: refCpu,
      unit: 'ms/upload',
      ratio: refCpu / oursCpu,
    });
  }
  return out;
}

// ------------------------------------------------------------------------------ the suite

export async function runE2eBench(
  argv: readonly string[] = process.argv.slice(2),
): Promise<BenchResult[]> {
  const o = parseOptions(argv);
  const payloads = new Map(o.payloads.map((n) => [n, buildPayload(n)]));
  for (const p of payloads.values()) {
    console.log(
      `payload ${p.name}: ${p.title}, ${(innerBytes(p) / 1024).toFixed(0)} KB inside; ${p.seriesPerUpload} series per upload; store check ${p.checkType} = ${p.checkTotal} per upload`,
    );
  }
  const needKafka = o.topologies.some((t) => t !== 'one') || o.floors.includes('kafka');
  const svc = needKafka ? ensureServices() : undefined;
  const nodeArgs: string[] = [];
  if (o.cpuProfDir) {
    mkdirSync(o.cpuProfDir, { recursive: true });
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${o.cpuProfDir}`);
    console.log(`CPU profiles of the Emberflow processes go to ${o.cpuProfDir}`);
  }
  const gen = await Generator.start();
  const rows: Row[] = [];
  const report = (r: Row) => {
    rows.push(r);
    console.log(table([r]).split('\n')[2]);
  };
  console.log(table([]));
  try {
    for (const p of payloads.values()) {
      for (const kind of o.floors) {
        for (const senders of o.senders) {
          if (kind === 'kafka') report(await floorKafkaStep(svc!, p, senders, o.durationMs));
          else report(await floorHttpStep(kind, gen, p, senders, o.durationMs));
        }
      }
    }
    for (const topology of o.topologies) {
      const d = await startDeployment(topology, { services: svc, nodeArgs, env: o.env });
      console.log(
        `# ${TOPOLOGY_TITLES[topology]}: ${d.processes.map((x) => `${x.name} pid ${x.pid}`).join(', ')}`,
      );
      try {
        for (const p of payloads.values()) {
          const warm = await emberStep(d, gen, p, 16, o.warmupMs, o, `bench-warmup-${p.name}`);
          console.log(`(warm-up ${p.name}: ${warm.load.ok} uploads, stored ${warm.stored})`);
          for (const senders of o.senders) {
            const service = `bench-${topology}-${p.name}-x${senders}`;
            report(await emberStep(d, gen, p, senders, o.durationMs, o, service));
          }
        }
      } finally {
        await d.stop();
      }
    }
  } finally {
    gen.stop();
  }
  console.log('');
  console.log(table(rows));
  const ember = rows.filter((r) => !r.topology.startsWith('floor'));
  const accepted = ember.reduce((n, r) => n + r.load.ok, 0);
  const bad = ember.filter((r) => !r.stored.startsWith('ok'));
  console.log(
    `\ntotals: ${accepted} uploads accepted over ${ember.length} steps; ${bad.length === 0 ? 'every one stored with its samples' : `NOT all stored: ${bad.map((r) => `${r.topology} ${r.payload} x${r.senders}: ${r.stored}`).join('; ')}`}`,
  );
  return results(rows);
}
