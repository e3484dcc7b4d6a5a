import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { repoRoot } from '../../test/support/paths.js';
import { topicSpecs } from '../queue/index.js';
import { ENV_VARS, loadConfig, type EmberConfig } from './config.js';
import { MALLOC_ENV } from './malloc-env.js';
import { TARGETS, parseTargets, type Target } from './targets.js';

// The deployment descriptors (Dockerfile, docker-compose.yml, k8s/ base and overlays,
// nest-cli.json) restate facts the code owns: env names, targets, the port, probe paths, entry
// points, partition counts. Each checker below takes parsed descriptors and returns the list of
// disagreements, so the same checker is run on the real files (expecting none) and on broken
// copies (expecting the one planted). k8s overlays are rendered by a small kustomize subset
// (resources, patches by path, images); a kustomization using anything else fails the test
// rather than being checked half-way.

const PORT = 9529;
const GRPC_PORT = 4317;
const PROBE_PATHS = new Set(['/healthz', '/readyz']);
const KNOWN_ENV = new Set<string>(ENV_VARS);
const DEFAULT_ENTRY = 'dist/apps/emberflow/main.js';

const root = repoRoot();
const readText = (...p: string[]): string => readFileSync(join(root, ...p), 'utf8');

// ------------------------------------------------------------------------------- YAML helpers

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);
const obj = (x: unknown): Obj => (isObj(x) ? x : {});
const arr = (x: unknown): unknown[] => (Array.isArray(x) ? x : []);
const str = (x: unknown): string | undefined =>
  typeof x === 'string'
    ? x
    : typeof x === 'number' || typeof x === 'boolean'
      ? String(x)
      : undefined;
const clone = <T>(x: T): T => structuredClone(x);

/** Every EMBER_* name in a parsed document, in keys and values (comments are not data). */
function emberNames(doc: unknown, out = new Set<string>()): Set<string> {
  if (typeof doc === 'string') for (const m of doc.matchAll(/\bEMBER_[A-Z0-9_]+/g)) out.add(m[0]);
  else if (Array.isArray(doc)) doc.forEach((d) => emberNames(d, out));
  else if (isObj(doc))
    for (const [k, v] of Object.entries(doc)) {
      emberNames(k, out);
      emberNames(v, out);
    }
  return out;
}

function unknownEnvProblems(where: string, names: Iterable<string>): string[] {
  return [...names]
    .filter((n) => n.startsWith('EMBER_') && !KNOWN_ENV.has(n))
    .map((n) => `${where}: ${n} is not an env var loadConfig knows (config.ts ENV_VARS)`);
}

function tryConfig(
  where: string,
  env: Record<string, string>,
): { config?: EmberConfig; problems: string[] } {
  try {
    return { config: loadConfig(env), problems: [] };
  } catch (err) {
    return { problems: [`${where}: loadConfig rejects the env: ${(err as Error).message}`] };
  }
}

/**
 * Unset, EMBER_HTTP_HOST depends on the other settings (127.0.0.1 on embedded defaults with no
 * credentials): a deployment that must be reachable says where it binds.
 */
function explicitHostProblems(where: string, env: Record<string, string>): string[] {
  return env.EMBER_HTTP_HOST
    ? []
    : [
        `${where}: EMBER_HTTP_HOST is not set (unset, the bind address depends on the other settings; 127.0.0.1 on embedded defaults)`,
      ];
}

/** An entry point must be dist/apps/<name>/main.js compiled from an existing apps/<name>/main.ts. */
function entryPointProblems(where: string, entry: string | undefined): string[] {
  if (entry === undefined) return [`${where}: no entry point (dist/apps/<target>/main.js)`];
  const m = /^(?:\/app\/)?dist\/apps\/([a-z-]+)\/main\.js$/.exec(entry);
  if (!m) return [`${where}: entry point ${entry} is not dist/apps/<name>/main.js`];
  if (!existsSync(join(root, 'apps', m[1], 'main.ts')))
    return [`${where}: entry point ${entry} has no source apps/${m[1]}/main.ts`];
  return [];
}

/**
 * The targets a process runs: apps/<t>/main.ts for t in TARGETS pins its own; the default entry
 * point (apps/emberflow) runs EMBER_TARGETS. They must agree, or the env would mislead.
 */
function targetProblems(
  where: string,
  entry: string | undefined,
  targetsEnv: string | undefined,
): { targets: Target[]; problems: string[] } {
  const problems: string[] = [];
  let fromEnv: Target[] = [...TARGETS];
  try {
    fromEnv = parseTargets(targetsEnv ?? 'all');
  } catch (err) {
    problems.push(`${where}: EMBER_TARGETS=${targetsEnv}: ${(err as Error).message}`);
  }
  const pinned = /dist\/apps\/([a-z-]+)\/main\.js$/.exec(entry ?? '')?.[1];
  if (pinned && (TARGETS as readonly string[]).includes(pinned)) {
    if (fromEnv.join(',') !== pinned)
      problems.push(
        `${where}: entry point apps/${pinned} runs ${pinned} but EMBER_TARGETS says ${fromEnv.join(',')}`,
      );
    return { targets: [pinned as Target], problems };
  }
  return { targets: fromEnv, problems };
}

/** URL paths a probe command asks for: full URLs, or quoted '/path' pieces of a built one. */
function commandProbe(command: string): { paths: string[]; ports: number[] } {
  const paths: string[] = [];
  const ports: number[] = [];
  for (const m of command.matchAll(/https?:\/\/[^\s'"`)]+/g)) {
    const u = new URL(m[0]);
    if (u.port) ports.push(Number(u.port));
    if (u.pathname !== '/') paths.push(u.pathname);
  }
  for (const m of command.matchAll(/['"](\/[A-Za-z0-9_\-./]*)['"]/g)) paths.push(m[1]);
  return { paths, ports };
}

function probeCommandProblems(where: string, command: string): string[] {
  const { paths, ports } = commandProbe(command);
  const problems: string[] = [];
  if (paths.length === 0) problems.push(`${where}: health check names no /healthz or /readyz`);
  for (const p of paths)
    if (!PROBE_PATHS.has(p)) problems.push(`${where}: probe path ${p} is not /healthz or /readyz`);
  for (const p of ports) if (p !== PORT) problems.push(`${where}: probe port ${p} is not ${PORT}`);
  return problems;
}

/**
 * The ports a process opens, from its config and targets (bootstrap.ts): HTTP always; gRPC when
 * EMBER_GRPC_PORT is on and a module registers gRPC routes, which only the ingest target does.
 */
function portsOpened(c: EmberConfig, targets: readonly Target[]): Map<number, string> {
  const out = new Map<number, string>([[c.http.port, 'HTTP (EMBER_HTTP_PORT)']]);
  if (c.grpc && targets.includes('ingest')) out.set(c.grpc.port, 'gRPC (EMBER_GRPC_PORT)');
  return out;
}

/** Ports a process opens that a descriptor does not carry, and ones it carries in vain. */
function publishedPortProblems(
  where: string,
  opened: Map<number, string>,
  declared: Iterable<number>,
  what: string,
  mustCarryAll = true,
): string[] {
  const have = new Set(declared);
  const problems: string[] = [];
  if (mustCarryAll)
    for (const [port, name] of opened)
      if (!have.has(port)) problems.push(`${where}: ${what} lacks ${port}, the ${name} it opens`);
  for (const port of have)
    if (!opened.has(port))
      problems.push(`${where}: ${what} ${port} is not a port the process opens`);
  return problems;
}

/** The largest record Emberflow writes: the topics it creates allow that much (topics.ts). */
const largestRecordBytes = (c: EmberConfig): number =>
  Math.max(
    ...topicSpecs({
      rawPartitions: 1,
      normalizedPartitions: 1,
      maxUploadBytes: c.ingest.maxBodyBytes,
    }).map((t) => t.maxMessageBytes),
  );

/** A broker whose message.max.bytes (env KAFKA_MESSAGE_MAX_BYTES) is below that largest record. */
function kafkaLimitProblems(where: string, kafkaEnv: Record<string, string>, c: EmberConfig) {
  const maxBytes = Number(kafkaEnv.KAFKA_MESSAGE_MAX_BYTES ?? 1048588); // Kafka's default
  const need = largestRecordBytes(c);
  return maxBytes < need
    ? [
        `${where}: KAFKA_MESSAGE_MAX_BYTES ${maxBytes} is below the largest record ${need} (EMBER_MAX_BODY_BYTES ${c.ingest.maxBodyBytes} + overhead)`,
      ]
    : [];
}

/** "40s", "1m30s", "500ms" -> ms (compose durations) */
function durationMs(s: string): number {
  let total = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ms|us|s|m|h)/g))
    total += Number(m[1]) * { ms: 1, us: 0.001, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 's'];
  return total;
}

// --------------------------------------------------------------------------------- Dockerfile

interface Instruction {
  op: string;
  args: string;
}
interface DockerfileFacts {
  args: Record<string, string>;
  stages: { from: string; name?: string; instructions: Instruction[] }[];
}

function parseDockerfile(text: string): DockerfileFacts {
  const lines: string[] = [];
  let cur = '';
  for (const raw of text.split('\n')) {
    if (/^\s*#/.test(raw)) continue; // comments (and parser directives) inside continuations too
    const line = raw.replace(/\s+$/, '');
    if (line.endsWith('\\')) cur += line.slice(0, -1) + ' ';
    else {
      cur += line;
      if (cur.trim()) lines.push(cur.trim());
      cur = '';
    }
  }
  const facts: DockerfileFacts = { args: {}, stages: [] };
  for (const line of lines) {
    const [, op, rest] = /^(\S+)\s*(.*)$/.exec(line)!;
    const ins = { op: op.toUpperCase(), args: rest };
    if (ins.op === 'FROM') {
      const m = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?/i.exec(rest)!;
      const from = m[1].replace(/\$\{?(\w+)\}?/g, (_, a: string) => facts.args[a] ?? `$${a}`);
      facts.stages.push({ from, name: m[2], instructions: [] });
    } else if (facts.stages.length === 0) {
      if (ins.op === 'ARG') {
        const [k, v] = rest.split('=');
        if (v !== undefined) facts.args[k.trim()] = v.trim();
      }
    } else facts.stages[facts.stages.length - 1].instructions.push(ins);
  }
  return facts;
}

/** key=value pairs of ENV (the `ENV a=b c=d` form; values without spaces) */
function envPairs(args: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g))
    out[m[1]] = m[2].replace(/^"|"$/g, '');
  return out;
}

function jsonArgs(where: string, args: string, problems: string[]): string[] {
  try {
    const v: unknown = JSON.parse(args);
    if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v;
  } catch {
    /* reported below */
  }
  problems.push(`${where}: not the exec (JSON array) form: ${args}`);
  return [];
}

/** The EMBER_* settings the runtime stage bakes in: every container starts from these. */
function imageEmberEnv(f: DockerfileFacts): Record<string, string> {
  const runtime = f.stages.at(-1);
  const env: Record<string, string> = {};
  for (const i of runtime?.instructions ?? [])
    if (i.op === 'ENV')
      for (const [k, v] of Object.entries(envPairs(i.args))) if (k.startsWith('EMBER_')) env[k] = v;
  return env;
}

function checkDockerfile(f: DockerfileFacts): string[] {
  const problems: string[] = [];
  if (f.stages.length < 2) return ['Dockerfile: not multi-stage (build and runtime stages)'];
  const build = f.stages[0];
  const runtime = f.stages[f.stages.length - 1];
  for (const s of f.stages)
    if (s.from !== 'node:20-bookworm-slim')
      problems.push(
        `Dockerfile: stage ${s.name ?? '?'} is FROM ${s.from}, not node:20-bookworm-slim`,
      );
  const runs = build.instructions
    .filter((i) => i.op === 'RUN')
    .map((i) => i.args)
    .join('\n');
  // build:ts and build:ui, not `npm run build`: its scripts/build.mjs is not in the build context
  for (const step of [
    'npm ci',
    'npm run build:ts',
    'npm run build:ui',
    'npm prune --omit=dev',
    'python3',
    'make',
    'g++',
  ])
    if (!runs.includes(step)) problems.push(`Dockerfile: the build stage does not run ${step}`);

  const ins = (op: string) => runtime.instructions.filter((i) => i.op === op);
  const user = ins('USER').at(-1)?.args.trim();
  if (!user || /^(root|0)(:|$)/.test(user))
    problems.push('Dockerfile: the runtime stage does not switch to a non-root USER');

  const env = Object.assign({}, ...ins('ENV').map((i) => envPairs(i.args))) as Record<
    string,
    string
  >;
  problems.push(...unknownEnvProblems('Dockerfile ENV', Object.keys(env)));
  if (env.EMBER_HTTP_PORT !== String(PORT))
    problems.push(`Dockerfile: ENV EMBER_HTTP_PORT is ${env.EMBER_HTTP_PORT}, not ${PORT}`);
  if (env.EMBER_GRPC_PORT !== String(GRPC_PORT))
    problems.push(`Dockerfile: ENV EMBER_GRPC_PORT is ${env.EMBER_GRPC_PORT}, not ${GRPC_PORT}`);
  problems.push(...explicitHostProblems('Dockerfile ENV', env));
  const ember = Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('EMBER_')));
  problems.push(...tryConfig('Dockerfile ENV', ember).problems);

  const exposed = ins('EXPOSE').flatMap((i) => i.args.split(/\s+/).map((p) => p.split('/')[0]));
  // the default entry point runs every target: it opens every port there is
  const imageConfig = tryConfig('Dockerfile ENV', ember).config;
  if (imageConfig)
    problems.push(
      ...publishedPortProblems(
        'Dockerfile',
        portsOpened(imageConfig, TARGETS),
        exposed.map(Number),
        'EXPOSE',
      ),
    );

  const entrypoint = jsonArgs(
    'Dockerfile ENTRYPOINT',
    ins('ENTRYPOINT').at(-1)?.args ?? '',
    problems,
  );
  if (entrypoint[0] !== 'node')
    problems.push(`Dockerfile: ENTRYPOINT ${JSON.stringify(entrypoint)} does not run node`);
  const cmd = jsonArgs('Dockerfile CMD', ins('CMD').at(-1)?.args ?? '', problems);
  problems.push(...entryPointProblems('Dockerfile CMD', cmd[0]));
  if (cmd[0] !== 'dist/apps/emberflow/main.js')
    problems.push(
      `Dockerfile: CMD ${cmd[0]} is not the default entry point dist/apps/emberflow/main.js`,
    );

  const hc = ins('HEALTHCHECK').at(-1)?.args;
  if (!hc) problems.push('Dockerfile: no HEALTHCHECK');
  else {
    const cmdPart = hc.slice(hc.indexOf('CMD') + 3).trim();
    const probe = jsonArgs('Dockerfile HEALTHCHECK', cmdPart, problems).join(' ');
    const { paths } = commandProbe(probe);
    problems.push(...probeCommandProblems('Dockerfile HEALTHCHECK', probe));
    if (!paths.includes('/healthz'))
      problems.push('Dockerfile: HEALTHCHECK is a liveness check and must ask /healthz');
  }
  return problems;
}

// ---------------------------------------------------------------------------- docker-compose

const IMAGE_ENV = imageEmberEnv(parseDockerfile(readText('Dockerfile')));

/** the emberflow services: built from this repo or run from its image */
const isEmberflowService = (svc: Obj, image: string | undefined): boolean =>
  svc.build !== undefined || (image !== undefined && str(svc.image) === image);

function composeEnv(svc: Obj): Record<string, string> {
  const e = svc.environment;
  const out: Record<string, string> = {};
  if (Array.isArray(e))
    for (const item of e) {
      const [k, ...v] = String(item).split('=');
      out[k] = v.join('=');
    }
  else for (const [k, v] of Object.entries(obj(e))) out[k] = str(v) ?? '';
  return out;
}

const composeCommand = (svc: Obj): string[] =>
  Array.isArray(svc.command) ? svc.command.map(String) : (str(svc.command)?.split(/\s+/) ?? []);

function containerPort(p: unknown): number {
  if (isObj(p)) return Number(p.target);
  const spec = String(p).split('/')[0];
  return Number(spec.split(':').at(-1));
}

function checkCompose(doc: Obj, pomKafkaVersion: string): string[] {
  const problems: string[] = [];
  problems.push(...unknownEnvProblems('docker-compose.yml', emberNames(doc)));
  const services = obj(doc.services);
  const images = new Set(
    Object.values(services)
      .map(obj)
      .filter((s) => s.build !== undefined)
      .map((s) => str(s.image)),
  );
  if (images.size !== 1)
    problems.push(`docker-compose.yml: the built services use ${images.size} image names, not one`);
  const image = [...images][0];
  if (image !== undefined && basename(splitImage(image)[0]) !== 'emberflow')
    problems.push(`docker-compose.yml: the built image is ${image}, not emberflow`);

  const byProfile = new Map<string, Target[][]>();
  for (const [name, raw] of Object.entries(services)) {
    const svc = obj(raw);
    const where = `docker-compose.yml ${name}`;
    if (!isEmberflowService(svc, image)) continue;
    const env = { ...IMAGE_ENV, ...composeEnv(svc) };
    problems.push(...explicitHostProblems(where, composeEnv(svc)));
    const { config, problems: cp } = tryConfig(where, env);
    problems.push(...cp);
    // Without a command the image's CMD (the default entry point) runs.
    const entry = composeCommand(svc).find((c) => c.endsWith('.js')) ?? DEFAULT_ENTRY;
    problems.push(...entryPointProblems(where, entry));
    const t = targetProblems(where, entry, env.EMBER_TARGETS);
    problems.push(...t.problems);
    for (const p of arr(svc.profiles)) {
      const list = byProfile.get(String(p)) ?? [];
      list.push(t.targets);
      byProfile.set(String(p), list);
    }
    if (arr(svc.profiles).length === 0)
      problems.push(`${where}: has no profile (all or split), so it starts with either`);

    if (t.targets.includes('ingest') && arr(svc.ports).length === 0)
      problems.push(`${where}: runs ingest but publishes no port`);
    if (t.targets.includes('exporter') && arr(svc.ports).length === 0)
      problems.push(`${where}: runs the exporter (query API) but publishes no port`);
    // A decoder-only service may publish nothing (probes and /metrics on the compose network);
    // one that publishes anything publishes every port it opens.
    if (config)
      problems.push(
        ...publishedPortProblems(
          where,
          portsOpened(config, t.targets),
          arr(svc.ports).map(containerPort),
          'published container port',
          arr(svc.ports).length > 0,
        ),
      );

    const test = arr(obj(svc.healthcheck).test).map(String);
    if (test.length === 0) problems.push(`${where}: no healthcheck`);
    else problems.push(...probeCommandProblems(`${where} healthcheck`, test.join(' ')));

    const deps = obj(svc.depends_on);
    for (const dep of ['kafka', 'redis'])
      if (obj(deps[dep]).condition !== 'service_healthy')
        problems.push(`${where}: does not wait for ${dep} (depends_on condition service_healthy)`);
    for (const dep of Object.keys(deps)) {
      const target = obj(services[dep]);
      if (!services[dep]) problems.push(`${where}: depends on unknown service ${dep}`);
      else if (obj(deps[dep]).condition === 'service_healthy' && !target.healthcheck)
        problems.push(`${where}: waits for ${dep} to be healthy but ${dep} has no healthcheck`);
    }

    if (config) {
      const grace = durationMs(str(svc.stop_grace_period) ?? '10s');
      if (grace <= config.shutdownTimeoutMs)
        problems.push(
          `${where}: stop_grace_period ${grace} ms is not above EMBER_SHUTDOWN_TIMEOUT ${config.shutdownTimeoutMs} ms`,
        );
      if (t.targets.includes('decoder') || t.targets.includes('ingest'))
        if (!config.kafka) problems.push(`${where}: no EMBER_KAFKA_BROKERS`);
      if (!config.redis) problems.push(`${where}: no EMBER_REDIS_URL`);
      if (t.targets.includes('exporter') && isObj(services.pyroscope)) {
        const hosts = config.backends.pyroscope.map((p) => new URL(p.url).host);
        if (!hosts.includes('pyroscope:4040'))
          problems.push(`${where}: runs the exporter but does not ship to the pyroscope service`);
      }
      if (t.targets.includes('exporter') && config.backends.embedded.enabled) {
        const mounted = arr(svc.volumes).some((v) =>
          isObj(v) ? str(v.target) === config.dataDir : String(v).split(':')[1] === config.dataDir,
        );
        if (!mounted)
          problems.push(
            `${where}: runs the exporter but no volume is mounted at ${config.dataDir}`,
          );
        if (obj(svc.deploy).replicas !== undefined && Number(obj(svc.deploy).replicas) !== 1)
          problems.push(`${where}: the exporter (embedded store) must run one replica`);
      }
      problems.push(...kafkaLimitProblems(where, composeEnv(obj(services.kafka)), config));
    }
  }

  for (const profile of ['all', 'split']) {
    const sets = byProfile.get(profile);
    if (!sets) {
      problems.push(`docker-compose.yml: no emberflow service in profile ${profile}`);
      continue;
    }
    for (const t of TARGETS) {
      const n = sets.filter((s) => s.includes(t)).length;
      if (n !== 1)
        problems.push(`docker-compose.yml: profile ${profile} runs ${t} in ${n} services, not 1`);
    }
    if (profile === 'split' && sets.some((s) => s.length !== 1))
      problems.push('docker-compose.yml: profile split runs more than one target in a service');
  }

  const kafka = obj(services.kafka);
  const kafkaImage = str(kafka.image) ?? '';
  if (!/^apache\/kafka:/.test(kafkaImage))
    problems.push(`docker-compose.yml: kafka image ${kafkaImage} is not apache/kafka`);
  else if (kafkaImage.split(':')[1] !== pomKafkaVersion)
    problems.push(
      `docker-compose.yml: ${kafkaImage} differs from Kafka ${pomKafkaVersion} of scripts/kafka/pom.xml`,
    );
  const kenv = composeEnv(kafka);
  if (!/controller/.test(kenv.KAFKA_PROCESS_ROLES ?? ''))
    problems.push('docker-compose.yml: kafka does not run in KRaft mode (KAFKA_PROCESS_ROLES)');
  if (str(obj(services.redis).image)?.split(':')[0] !== 'redis')
    problems.push('docker-compose.yml: no redis service');
  if (!str(obj(services.pyroscope).image)?.startsWith('grafana/pyroscope'))
    problems.push('docker-compose.yml: no grafana/pyroscope service');
  return problems;
}

// -------------------------------------------------------------------------- kustomize subset

const SUPPORTED_KUSTOMIZATION = new Set([
  'apiVersion',
  'kind',
  'resources',
  'patches',
  'images',
  'namespace', // does not change what is checked here
  'labels', // idem (never selectors: includeSelectors must be false)
]);

function mergeByName(base: unknown[], patch: unknown[]): unknown[] {
  const named = (xs: unknown[]) => xs.every((x) => isObj(x) && typeof x.name === 'string');
  if (!named(base) || !named(patch)) return clone(patch);
  const out = clone(base) as Obj[];
  const added: Obj[] = []; // kustomize puts items new to the list first, in patch order
  for (const p of patch as Obj[]) {
    const i = out.findIndex((b) => b.name === p.name);
    if (i >= 0) out[i] = strategicMerge(out[i], p) as Obj;
    else added.push(clone(p));
  }
  return [...added, ...out];
}

/** Strategic merge for what the overlays use: maps merge, named lists merge by name. */
function strategicMerge(base: unknown, patch: unknown): unknown {
  if (isObj(patch) && Object.keys(patch).some((k) => k.startsWith('$')))
    throw new Error(`unsupported patch directive in ${JSON.stringify(patch)}`);
  if (isObj(base) && isObj(patch)) {
    const out: Obj = clone(base);
    for (const [k, v] of Object.entries(patch)) out[k] = k in out ? strategicMerge(out[k], v) : v;
    return out;
  }
  if (Array.isArray(base) && Array.isArray(patch)) return mergeByName(base, patch);
  return clone(patch);
}

function podSpecOf(r: Obj): Obj | undefined {
  const t = obj(obj(r.spec).template);
  return isObj(t.spec) ? t.spec : undefined;
}

function renderKustomization(dir: string): Obj[] {
  const file = join(dir, 'kustomization.yaml');
  const k = obj(parseYaml(readFileSync(file, 'utf8')));
  for (const key of Object.keys(k))
    if (!SUPPORTED_KUSTOMIZATION.has(key))
      throw new Error(`${relative(root, file)}: field ${key} is outside the checked subset`);
  for (const l of arr(k.labels))
    if (obj(l).includeSelectors !== false)
      throw new Error(`${relative(root, file)}: labels must not change selectors`);
  const docs: Obj[] = [];
  for (const r of arr(k.resources).map(String)) {
    const p = resolve(dir, r);
    if (statSync(p).isDirectory()) docs.push(...renderKustomization(p));
    else
      for (const d of parseAllDocuments(readFileSync(p, 'utf8')))
        if (d.contents !== null) docs.push(obj(d.toJS()));
  }
  for (const p of arr(k.patches).map(obj)) {
    if (Object.keys(p).some((key) => key !== 'path'))
      throw new Error(`${relative(root, file)}: only patches by path are checked`);
    const patch = obj(parseYaml(readFileSync(resolve(dir, String(p.path)), 'utf8')));
    const i = docs.findIndex(
      (d) => d.kind === patch.kind && obj(d.metadata).name === obj(patch.metadata).name,
    );
    if (i < 0) throw new Error(`${p.path}: patches no resource of this kustomization`);
    docs[i] = strategicMerge(docs[i], patch) as Obj;
  }
  for (const img of arr(k.images).map(obj)) {
    for (const d of docs) {
      const spec = podSpecOf(d);
      for (const c of [...arr(spec?.containers), ...arr(spec?.initContainers)].map(obj)) {
        const [name, tag] = splitImage(String(c.image));
        if (name !== img.name) continue;
        c.image = `${str(img.newName) ?? name}${img.newTag !== undefined ? `:${str(img.newTag)}` : tag ? `:${tag}` : ''}`;
      }
    }
  }
  return docs;
}

function splitImage(image: string): [string, string | undefined] {
  const at = image.lastIndexOf(':');
  return at > image.lastIndexOf('/')
    ? [image.slice(0, at), image.slice(at + 1)]
    : [image, undefined];
}

// ------------------------------------------------------------------------------ k8s checks

const COMPONENT = 'app.kubernetes.io/component';
const selects = (selector: unknown, labels: unknown): boolean => {
  const want = obj(obj(selector).matchLabels ?? selector);
  const have = obj(labels);
  return Object.keys(want).length > 0 && Object.entries(want).every(([k, v]) => have[k] === v);
};

function checkK8s(docs: Obj[], where: string, pomKafkaVersion: string): string[] {
  const problems: string[] = [];
  problems.push(...unknownEnvProblems(where, emberNames(docs)));
  const find = (kind: string) => docs.filter((d) => d.kind === kind);
  const nameOf = (d: Obj) => String(obj(d.metadata).name);
  const configMaps = new Map(find('ConfigMap').map((c) => [nameOf(c), obj(c.data)]));
  const workloads = docs.filter(
    (d) =>
      ['Deployment', 'StatefulSet'].includes(String(d.kind)) &&
      obj(obj(d.metadata).labels)['app.kubernetes.io/name'] === 'emberflow',
  );

  let clusterConfig: EmberConfig | undefined;
  for (const [name, data] of configMaps) {
    const env = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, str(v) ?? '']));
    const r = tryConfig(`${where} ConfigMap ${name}`, { ...IMAGE_ENV, ...env });
    problems.push(...r.problems);
    clusterConfig ??= r.config;
  }

  const images = new Set<string>();
  const components = new Map<string, Obj>();
  const opened = new Map<string, Map<number, string>>(); // by target
  let rawPartitions: number | undefined;
  for (const w of workloads) {
    const wn = `${where} ${w.kind} ${nameOf(w)}`;
    const spec = obj(w.spec);
    const pod = obj(spec.template);
    const podLabels = obj(obj(pod.metadata).labels);
    const podSpec = obj(pod.spec);
    const containers = arr(podSpec.containers).map(obj);
    if (containers.length !== 1) problems.push(`${wn}: ${containers.length} containers, not 1`);
    const c = containers[0] ?? {};
    images.add(splitImage(String(c.image))[0]);

    const env: Record<string, string> = { ...IMAGE_ENV };
    const declared: Record<string, string> = {}; // what the manifests themselves set
    for (const ef of arr(c.envFrom).map(obj)) {
      const ref = str(obj(ef.configMapRef).name);
      if (ref === undefined) continue;
      const data = configMaps.get(ref);
      if (!data) problems.push(`${wn}: envFrom ConfigMap ${ref} is not in ${where}`);
      else for (const [k, v] of Object.entries(data)) env[k] = declared[k] = str(v) ?? '';
    }
    if (arr(c.envFrom).length === 0) problems.push(`${wn}: takes no env from a ConfigMap`);
    for (const e of arr(c.env).map(obj))
      if (e.value !== undefined) env[String(e.name)] = declared[String(e.name)] = str(e.value)!;
    problems.push(...explicitHostProblems(wn, declared));
    if (env.EMBER_TARGETS === undefined) problems.push(`${wn}: EMBER_TARGETS is not set`);
    const { config, problems: cp } = tryConfig(wn, env);
    problems.push(...cp);
    const entry = [...arr(c.command), ...arr(c.args)].map(String).find((a) => a.endsWith('.js'));
    problems.push(...entryPointProblems(wn, entry ?? DEFAULT_ENTRY));
    const t = targetProblems(wn, entry, env.EMBER_TARGETS);
    problems.push(...t.problems);
    if (t.targets.length !== 1)
      problems.push(`${wn}: runs ${t.targets.join(',')}; each workload runs one target`);
    const target = t.targets[0];
    if (podLabels[COMPONENT] !== target)
      problems.push(`${wn}: labelled ${COMPONENT}=${str(podLabels[COMPONENT])} but runs ${target}`);
    if (components.has(target)) problems.push(`${where}: two workloads run ${target}`);
    components.set(target, w);

    const ports = arr(c.ports).map(obj);
    const named = new Map(ports.map((p) => [str(p.name), Number(p.containerPort)]));
    if (config) opened.set(target, portsOpened(config, t.targets));
    if (config)
      problems.push(
        ...publishedPortProblems(
          wn,
          portsOpened(config, t.targets),
          ports.map((p) => Number(p.containerPort)),
          'containerPort',
        ),
      );
    if (ports.length === 0) problems.push(`${wn}: declares no containerPort`);
    for (const kind of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
      const probe = obj(c[kind]);
      if (!isObj(c[kind])) {
        if (kind !== 'startupProbe') problems.push(`${wn}: no ${kind}`);
        continue;
      }
      const get = obj(probe.httpGet);
      const path = str(get.path);
      const port = typeof get.port === 'number' ? get.port : named.get(str(get.port));
      if (!path || !PROBE_PATHS.has(path))
        problems.push(`${wn}: ${kind} path ${path} is not /healthz or /readyz`);
      if (port !== PORT) problems.push(`${wn}: ${kind} port ${str(get.port)} is not ${PORT}`);
    }
    if (str(obj(obj(c.livenessProbe).httpGet).path) !== '/healthz')
      problems.push(`${wn}: livenessProbe must ask /healthz (liveness)`);
    if (str(obj(obj(c.readinessProbe).httpGet).path) !== '/readyz')
      problems.push(`${wn}: readinessProbe must ask /readyz (readiness)`);

    const res = obj(c.resources);
    for (const [k, r] of [
      ['requests.cpu', obj(res.requests).cpu],
      ['requests.memory', obj(res.requests).memory],
      ['limits.memory', obj(res.limits).memory],
    ] as const)
      if (r === undefined) problems.push(`${wn}: no resources.${k}`);

    const ann = obj(obj(pod.metadata).annotations);
    if (ann['prometheus.io/scrape'] !== 'true' || ann['prometheus.io/path'] !== '/metrics')
      problems.push(`${wn}: no prometheus.io scrape annotations for /metrics`);
    if (ann['prometheus.io/port'] !== String(PORT))
      problems.push(`${wn}: prometheus.io/port is ${str(ann['prometheus.io/port'])}, not ${PORT}`);

    if (
      !docs.some(
        (d) => d.kind === 'PodDisruptionBudget' && selects(obj(d.spec).selector, podLabels),
      )
    )
      problems.push(`${wn}: no PodDisruptionBudget selects it`);
    if (!selects(spec.selector, podLabels))
      problems.push(`${wn}: its selector does not match its pod labels`);

    if (!config) continue;
    if (target === 'decoder') rawPartitions = config.kafka?.rawPartitions;
    const grace = Number(podSpec.terminationGracePeriodSeconds ?? 30) * 1000;
    if (grace <= config.shutdownTimeoutMs)
      problems.push(
        `${wn}: terminationGracePeriodSeconds ${grace / 1000} is not above EMBER_SHUTDOWN_TIMEOUT`,
      );
    if (!config.kafka) problems.push(`${wn}: no EMBER_KAFKA_BROKERS`);
    if (!config.redis) problems.push(`${wn}: no EMBER_REDIS_URL`);

    if (target === 'exporter' && config.backends.embedded.enabled) {
      const replicas = spec.replicas === undefined ? 1 : Number(spec.replicas);
      if (replicas !== 1)
        problems.push(`${wn}: ${replicas} replicas; the embedded store allows exactly 1`);
      const mount = arr(c.volumeMounts)
        .map(obj)
        .find((m) => str(m.mountPath) === config.dataDir);
      const claims = new Set([
        ...arr(spec.volumeClaimTemplates).map((v) => str(obj(obj(v).metadata).name)),
        ...arr(podSpec.volumes)
          .map(obj)
          .filter((v) => isObj(v.persistentVolumeClaim))
          .map((v) => str(v.name)),
      ]);
      if (!mount || !claims.has(str(mount.name)))
        problems.push(`${wn}: EMBER_DATA_DIR ${config.dataDir} is not on a PersistentVolumeClaim`);
      if (w.kind === 'Deployment' && obj(spec.strategy).type !== 'Recreate')
        problems.push(`${wn}: a Deployment on a ReadWriteOnce volume needs strategy Recreate`);
    }
  }

  for (const t of TARGETS) if (!components.has(t)) problems.push(`${where}: no workload runs ${t}`);
  if (images.size !== 1)
    problems.push(
      `${where}: emberflow workloads use ${images.size} images: ${[...images].join(', ')}`,
    );
  else if (basename([...images][0]) !== 'emberflow')
    problems.push(`${where}: the image is ${[...images][0]}, not emberflow`);

  // Services: ingest (agents: HTTP and gRPC) and exporter (query API), each carrying every port
  // its workload opens, on the same number as the container port it targets.
  for (const t of ['ingest', 'exporter'] as const) {
    const w = components.get(t);
    if (!w) continue;
    const open = opened.get(t) ?? new Map<number, string>([[PORT, 'HTTP']]);
    const podLabels = obj(obj(obj(obj(w.spec).template).metadata).labels);
    const c = obj(arr(podSpecOf(w)?.containers)[0]);
    const named = new Map(
      arr(c.ports).map((p) => [str(obj(p).name), Number(obj(p).containerPort)]),
    );
    const svcs = find('Service').filter((s) => selects(obj(s.spec).selector, podLabels));
    if (svcs.length === 0) problems.push(`${where}: no Service for ${t}`);
    for (const s of svcs) {
      const targets: number[] = [];
      for (const p of arr(obj(s.spec).ports).map(obj)) {
        const target =
          p.targetPort === undefined
            ? Number(p.port)
            : typeof p.targetPort === 'number'
              ? p.targetPort
              : named.get(str(p.targetPort));
        if (target === undefined || Number(p.port) !== target)
          problems.push(
            `${where} Service ${nameOf(s)}: port ${str(p.port)} -> ${str(p.targetPort)} is not the container port it targets`,
          );
        if (target !== undefined) targets.push(target);
      }
      problems.push(
        ...publishedPortProblems(`${where} Service ${nameOf(s)}`, open, targets, 'port'),
      );
    }
  }

  // The decoder's autoscaler: no more members than raw partitions; nothing else autoscaled.
  const hpas = find('HorizontalPodAutoscaler');
  const decoder = components.get('decoder');
  for (const h of hpas) {
    const ref = obj(obj(h.spec).scaleTargetRef);
    const w = workloads.find((x) => x.kind === ref.kind && nameOf(x) === ref.name);
    if (!w) {
      problems.push(
        `${where} HPA ${nameOf(h)}: targets ${str(ref.kind)} ${str(ref.name)}, not in ${where}`,
      );
      continue;
    }
    if (w !== decoder)
      problems.push(
        `${where} HPA ${nameOf(h)}: autoscales ${nameOf(w)}; only the decoder scales so`,
      );
  }
  const decoderHpa = hpas.find(
    (h) => decoder && obj(obj(h.spec).scaleTargetRef).name === nameOf(decoder),
  );
  if (decoder && !decoderHpa) problems.push(`${where}: no HorizontalPodAutoscaler for the decoder`);
  if (decoderHpa) {
    const hs = obj(decoderHpa.spec);
    const max = Number(hs.maxReplicas);
    const min = Number(hs.minReplicas ?? 1);
    if (rawPartitions !== undefined && !(max <= rawPartitions))
      problems.push(
        `${where}: decoder HPA maxReplicas ${max} exceeds EMBER_KAFKA_RAW_PARTITIONS ${rawPartitions}`,
      );
    if (!(min >= 1 && min <= max))
      problems.push(`${where}: decoder HPA minReplicas ${min} is not within 1..${max}`);
    if (decoder && obj(decoder.spec).replicas !== undefined)
      problems.push(`${where}: the decoder sets replicas; its HPA owns that field`);
  }

  for (const d of docs)
    for (const c of arr(podSpecOf(d)?.containers).map(obj)) {
      const [name, tag] = splitImage(String(c.image));
      if (name !== 'apache/kafka') continue;
      if (tag !== pomKafkaVersion)
        problems.push(
          `${where}: ${str(c.image)} differs from Kafka ${pomKafkaVersion} of scripts/kafka/pom.xml`,
        );
      const kafkaEnv = Object.fromEntries(
        arr(c.env).map((e) => [String(obj(e).name), str(obj(e).value) ?? '']),
      );
      if (clusterConfig)
        problems.push(...kafkaLimitProblems(`${where} ${nameOf(d)}`, kafkaEnv, clusterConfig));
    }
  return problems;
}

// ---------------------------------------------------------------------------- nest-cli.json

function checkNestCli(cli: Obj): string[] {
  const problems: string[] = [];
  if (cli.monorepo !== true) problems.push('nest-cli.json: not in monorepo mode');
  if (obj(cli.compilerOptions).builder !== 'tsc')
    problems.push('nest-cli.json: builder is not tsc');
  const projects = obj(cli.projects);
  const dirs = (d: string) =>
    readdirSync(join(root, d)).filter((n) => statSync(join(root, d, n)).isDirectory());
  const want = [
    ...dirs('apps').map((n) => [n, 'application', `apps/${n}`] as const),
    ...dirs('libs').map((n) => [n, 'library', `libs/${n}`] as const),
  ];
  for (const [name, type, dir] of want) {
    const p = obj(projects[name]);
    if (!isObj(projects[name])) {
      problems.push(`nest-cli.json: ${dir} is not a project`);
      continue;
    }
    if (p.type !== type) problems.push(`nest-cli.json: ${name} is not of type ${type}`);
    if (p.root !== dir || p.sourceRoot !== dir)
      problems.push(`nest-cli.json: ${name} root/sourceRoot is not ${dir}`);
  }
  for (const [name, raw] of Object.entries(projects)) {
    const p = obj(raw);
    const entry = join(root, String(p.sourceRoot), `${str(p.entryFile)}.ts`);
    if (!existsSync(entry))
      problems.push(`nest-cli.json: ${name} entry ${relative(root, entry)} does not exist`);
    const tsconfig = str(obj(p.compilerOptions).tsConfigPath);
    if (tsconfig && !existsSync(join(root, tsconfig)))
      problems.push(`nest-cli.json: ${name} tsConfigPath ${tsconfig} does not exist`);
  }
  const rootEntry = join(root, String(cli.sourceRoot), `${str(cli.entryFile) ?? 'main'}.ts`);
  if (!existsSync(rootEntry))
    problems.push(
      `nest-cli.json: default project entry ${relative(root, rootEntry)} does not exist`,
    );
  return problems;
}

// ------------------------------------------------------------------------------------- tests

const pomKafkaVersion = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(
  readText('scripts/kafka/pom.xml'),
)![1];
const dockerfile = () => parseDockerfile(readText('Dockerfile'));
const compose = () => obj(parseYaml(readText('docker-compose.yml'), { merge: true }));
const overlays = () =>
  readdirSync(join(root, 'k8s/overlays')).filter((n) =>
    existsSync(join(root, 'k8s/overlays', n, 'kustomization.yaml')),
  );
const renders = (): [string, Obj[]][] => [
  ['k8s/base', renderKustomization(join(root, 'k8s/base'))],
  ...overlays().map((o): [string, Obj[]] => [
    `k8s/overlays/${o}`,
    renderKustomization(join(root, 'k8s/overlays', o)),
  ]),
];
const findDoc = (docs: Obj[], kind: string, name: string): Obj => {
  const d = docs.find((x) => x.kind === kind && obj(x.metadata).name === name);
  assert.ok(d, `${kind} ${name} not found`);
  return d;
};
const containerOf = (w: Obj): Obj => obj(arr(podSpecOf(w)?.containers)[0]);
// ------------------------------------------------------------------------------- malloc env

/**
 * glibc reads MALLOC_* when node starts (malloc-env.ts), so every launcher sets MALLOC_ENV: the
 * image's runtime stage, `npm start` (keeping a value the user exported), and no descriptor
 * (compose, k8s) sets another value.
 */
function checkMallocEnv(d: {
  dockerfile: DockerfileFacts;
  startScript: string;
  descriptors: Record<string, string>;
}): string[] {
  const problems: string[] = [];
  const runtime = d.dockerfile.stages.at(-1);
  const env: Record<string, string> = {};
  for (const i of runtime?.instructions ?? [])
    if (i.op === 'ENV') Object.assign(env, envPairs(i.args));
  for (const [k, v] of Object.entries(MALLOC_ENV)) {
    if (env[k] !== v)
      problems.push(`Dockerfile: the runtime stage's ENV ${k} is ${env[k] ?? 'unset'}, not ${v}`);
    if (!new RegExp(`(^|\\s)${k}=\\$\\{${k}:-${v}\\}\\s.*\\bnode `).test(d.startScript))
      problems.push(`package.json: scripts.start does not set ${k}=\${${k}:-${v}} for node`);
    for (const [where, text] of Object.entries(d.descriptors))
      for (const m of text.matchAll(
        new RegExp(`\\b${k}\\b[\\s"':=]*(?:value[\\s"':]*)?(\\w*)`, 'g'),
      ))
        if (m[1] !== v) problems.push(`${where}: sets ${k} to ${m[1]}, not ${v}`);
  }
  return problems;
}

function mallocDescriptors(): Record<string, string> {
  const out: Record<string, string> = { 'docker-compose.yml': readText('docker-compose.yml') };
  const walk = (dir: string): void => {
    for (const f of readdirSync(join(root, dir))) {
      const rel = join(dir, f);
      if (statSync(join(root, rel)).isDirectory()) walk(rel);
      else if (/\.ya?ml$/.test(f)) out[rel] = readText(rel);
    }
  };
  walk('k8s');
  return out;
}

/** asserts the checker reports a problem matching `pattern` (and so can fail) */
const rejects = (problems: string[], pattern: RegExp): void =>
  assert.ok(
    problems.some((p) => pattern.test(p)),
    `expected a problem matching ${pattern}, got:\n${problems.join('\n') || '(none)'}`,
  );

describe('deployment descriptors agree with the code', () => {
  it('ENV_VARS lists exactly the EMBER_* names loadConfig reads', () => {
    assert.ok(ENV_VARS.length > 10);
    for (const n of ENV_VARS) assert.match(n, /^EMBER_[A-Z0-9_]+$/);
    const src = readText('libs/runtime/config.ts');
    const named = new Set([...src.matchAll(/\b(EMBER_[A-Z0-9_]+):/g)].map((m) => m[1]));
    assert.deepEqual([...named].sort(), [...ENV_VARS].sort());
  });

  describe('Dockerfile', () => {
    it('builds in stages, runs as non-root on 9529 with a /healthz check, entry points exist', () => {
      assert.deepEqual(checkDockerfile(dockerfile()), []);
    });

    it('its default and per-target entry points are the apps that exist', () => {
      for (const app of readdirSync(join(root, 'apps')))
        assert.deepEqual(entryPointProblems('apps', `dist/apps/${app}/main.js`), []);
      rejects(entryPointProblems('x', 'dist/apps/nope/main.js'), /no source apps\/nope\/main\.ts/);
    });

    it('rejects broken copies', () => {
      const text = readText('Dockerfile');
      const broken = (from: RegExp, to: string): string[] => {
        assert.match(text, from);
        return checkDockerfile(parseDockerfile(text.replace(from, to)));
      };
      rejects(broken(/^EXPOSE 9529 4317$/m, 'EXPOSE 8080'), /EXPOSE 8080 is not a port/);
      rejects(broken(/^EXPOSE 9529 4317$/m, 'EXPOSE 9529'), /EXPOSE lacks 4317, the gRPC/);
      rejects(broken(/EMBER_GRPC_PORT=4317/, 'EMBER_GRPC_PORT=4318'), /EMBER_GRPC_PORT is 4318/);
      rejects(broken(/^USER node$/m, 'USER root'), /non-root USER/);
      rejects(broken(/EMBER_HTTP_PORT=9529/, 'EMBER_HTTP_PROT=9529'), /EMBER_HTTP_PROT is not/);
      rejects(
        broken(/"dist\/apps\/emberflow\/main\.js"\]/, '"dist/apps/nope/main.js"]'),
        /apps\/nope/,
      );
      rejects(broken(/'\/healthz'/, "'/health'"), /probe path \/health is not/);
      rejects(broken(/npm prune --omit=dev/, 'true'), /npm prune --omit=dev/);
      rejects(
        broken(/npm run build:ts && npm run build:ui/, 'npm run build'),
        /does not run npm run build:ts/,
      );
      rejects(broken(/EMBER_HTTP_HOST=0\.0\.0\.0/, 'NODE_OPTIONS='), /EMBER_HTTP_HOST is not set/);
      rejects(
        broken(/^ENTRYPOINT .*$/m, 'ENTRYPOINT node --enable-source-maps'),
        /exec \(JSON array\)/,
      );
    });
  });

  describe('docker-compose.yml', () => {
    it('every service agrees with loadConfig, the targets, the port, probes and Kafka limits', () => {
      assert.deepEqual(checkCompose(compose(), pomKafkaVersion), []);
    });

    it('rejects broken copies', () => {
      const services = () => {
        const doc = compose();
        return { doc, s: (n: string) => obj(obj(doc.services)[n]) };
      };
      let b = services();
      obj(b.s('ingest').environment).EMBER_HTTP_PROT = '9529';
      rejects(checkCompose(b.doc, pomKafkaVersion), /EMBER_HTTP_PROT is not an env var/);

      b = services();
      delete obj(b.s('exporter').environment).EMBER_HTTP_HOST;
      rejects(checkCompose(b.doc, pomKafkaVersion), /exporter: EMBER_HTTP_HOST is not set/);

      b = services();
      obj(b.s('decoder').environment).EMBER_TARGETS = 'decoders';
      rejects(checkCompose(b.doc, pomKafkaVersion), /unknown target\(s\) decoders/);

      b = services();
      obj(b.s('decoder').environment).EMBER_TARGETS = 'ingest';
      rejects(
        checkCompose(b.doc, pomKafkaVersion),
        /apps\/decoder runs decoder but EMBER_TARGETS says ingest/,
      );

      b = services();
      b.s('exporter').ports = ['9530:8080'];
      rejects(
        checkCompose(b.doc, pomKafkaVersion),
        /exporter: published container port 8080 is not a port the process opens/,
      );

      // regression: the gRPC port (OTLP/gRPC, 4317) was opened by ingest but never published
      b = services();
      b.s('ingest').ports = ['9529:9529'];
      rejects(
        checkCompose(b.doc, pomKafkaVersion),
        /ingest: published container port lacks 4317, the gRPC \(EMBER_GRPC_PORT\)/,
      );
      b = services();
      b.s('emberflow').ports = ['9529:9529'];
      rejects(
        checkCompose(b.doc, pomKafkaVersion),
        /emberflow: published container port lacks 4317/,
      );
      // the exporter opens no gRPC port: publishing one is a mistake too
      b = services();
      b.s('exporter').ports = ['9530:9529', '4317:4317'];
      rejects(
        checkCompose(b.doc, pomKafkaVersion),
        /exporter: published container port 4317 is not/,
      );

      b = services();
      obj(b.s('emberflow').environment).EMBER_LOG_LEVEL = 'verbose';
      rejects(checkCompose(b.doc, pomKafkaVersion), /emberflow: loadConfig rejects the env/);

      b = services();
      obj(b.s('kafka').environment).KAFKA_MESSAGE_MAX_BYTES = '1048588';
      rejects(checkCompose(b.doc, pomKafkaVersion), /KAFKA_MESSAGE_MAX_BYTES 1048588 is below/);

      b = services();
      b.s('exporter').volumes = [];
      rejects(checkCompose(b.doc, pomKafkaVersion), /no volume is mounted at/);

      b = services();
      b.s('ingest').healthcheck = {
        test: ['CMD', 'node', '-e', "fetch('http://127.0.0.1:9529/status')"],
      };
      rejects(checkCompose(b.doc, pomKafkaVersion), /probe path \/status is not/);

      b = services();
      delete obj(b.s('exporter').environment).EMBER_PYROSCOPE_URL;
      rejects(checkCompose(b.doc, pomKafkaVersion), /exporter: .* does not ship to the pyroscope/);

      b = services();
      b.s('ingest').stop_grace_period = '10s';
      rejects(checkCompose(b.doc, pomKafkaVersion), /stop_grace_period 10000 ms is not above/);

      rejects(checkCompose(compose(), '3.9.0'), /differs from Kafka 3\.9\.0/);
    });
  });

  describe('k8s', () => {
    it('base and every overlay render with the checked kustomize subset', () => {
      const names = renders().map(([n]) => n);
      assert.ok(
        names.includes('k8s/overlays/dev') && names.includes('k8s/overlays/prod'),
        names.join(),
      );
    });

    for (const [where, docs] of renders())
      it(`${where}: workloads, ConfigMap, probes, Services, PDBs and the decoder HPA agree`, () => {
        assert.deepEqual(checkK8s(docs, where, pomKafkaVersion), []);
      });

    it('the ConfigMap alone is an env loadConfig accepts (the all-in-one shape)', () => {
      for (const [where, docs] of renders()) {
        const data = obj(findDoc(docs, 'ConfigMap', 'emberflow-config').data);
        const env = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, str(v) ?? '']));
        const c = loadConfig(env);
        assert.deepEqual(c.targets, [...TARGETS], where);
        assert.equal(c.http.port, PORT, where);
        assert.ok(c.kafka && c.redis, `${where}: Kafka and Redis are configured`);
      }
    });

    it('overlays change tags and sizes, never the image name', () => {
      const names = new Set(
        renders().flatMap(([, docs]) =>
          docs
            .filter((d) => obj(obj(d.metadata).labels)['app.kubernetes.io/name'] === 'emberflow')
            .map((d) => basename(splitImage(String(containerOf(d).image ?? 'emberflow'))[0])),
        ),
      );
      assert.deepEqual([...names], ['emberflow']);
    });

    it('rejects broken copies', () => {
      const base = () => renderKustomization(join(root, 'k8s/base'));
      let d = base();
      obj(findDoc(d, 'HorizontalPodAutoscaler', 'emberflow-decoder').spec).maxReplicas = 7;
      rejects(
        checkK8s(d, 'b', pomKafkaVersion),
        /maxReplicas 7 exceeds EMBER_KAFKA_RAW_PARTITIONS 6/,
      );

      d = base();
      obj(findDoc(d, 'ConfigMap', 'emberflow-config').data).EMBER_KAFKA_RAW_PARTITIONS = '4';
      rejects(
        checkK8s(d, 'b', pomKafkaVersion),
        /maxReplicas 6 exceeds EMBER_KAFKA_RAW_PARTITIONS 4/,
      );

      d = base();
      delete obj(findDoc(d, 'ConfigMap', 'emberflow-config').data).EMBER_HTTP_HOST;
      rejects(checkK8s(d, 'b', pomKafkaVersion), /emberflow-ingest: EMBER_HTTP_HOST is not set/);

      d = base();
      obj(findDoc(d, 'ConfigMap', 'emberflow-config').data).EMBER_LOG_LEVEL = 'verbose';
      rejects(checkK8s(d, 'b', pomKafkaVersion), /ConfigMap emberflow-config: loadConfig rejects/);

      d = base();
      obj(findDoc(d, 'ConfigMap', 'emberflow-config').data).EMBER_PYROSCOPE_ADDR = 'http://p:4040';
      rejects(checkK8s(d, 'b', pomKafkaVersion), /EMBER_PYROSCOPE_ADDR is not an env var/);

      d = base();
      obj(
        obj(containerOf(findDoc(d, 'Deployment', 'emberflow-ingest')).livenessProbe).httpGet,
      ).path = '/health';
      rejects(checkK8s(d, 'b', pomKafkaVersion), /livenessProbe path \/health is not/);

      d = base();
      arr(containerOf(findDoc(d, 'Deployment', 'emberflow-decoder')).env).splice(0, 1, {
        name: 'EMBER_TARGETS',
        value: 'exporter',
      });
      rejects(
        checkK8s(d, 'b', pomKafkaVersion),
        /apps\/decoder runs decoder but EMBER_TARGETS says exporter/,
      );

      d = base();
      containerOf(findDoc(d, 'Deployment', 'emberflow-decoder')).image =
        'other/emberflow-decoder:1';
      rejects(checkK8s(d, 'b', pomKafkaVersion), /use 2 images/);

      d = base();
      obj(findDoc(d, 'StatefulSet', 'emberflow-exporter').spec).replicas = 2;
      rejects(checkK8s(d, 'b', pomKafkaVersion), /2 replicas; the embedded store allows exactly 1/);
      // ... unless the embedded store is off: then the exporter is stateless and may scale.
      arr(containerOf(findDoc(d, 'StatefulSet', 'emberflow-exporter')).env).push(
        { name: 'EMBER_EMBEDDED_STORE', value: 'false' },
        { name: 'EMBER_PYROSCOPE_URL', value: 'http://pyroscope:4040' },
      );
      assert.deepEqual(
        checkK8s(d, 'b', pomKafkaVersion).filter((p) => /replicas/.test(p)),
        [],
      );

      d = base();
      obj(
        arr(containerOf(findDoc(d, 'StatefulSet', 'emberflow-exporter')).ports)[0],
      ).containerPort = 8080;
      rejects(checkK8s(d, 'b', pomKafkaVersion), /containerPort 8080 is not a port the process/);

      d = base();
      obj(arr(obj(findDoc(d, 'Service', 'emberflow-ingest').spec).ports)[0]).port = 80;
      rejects(checkK8s(d, 'b', pomKafkaVersion), /Service emberflow-ingest: port 80/);

      // regression: ingest opened 4317 (EMBER_GRPC_PORT) but neither the pod nor its Service said so
      d = base();
      arr(containerOf(findDoc(d, 'Deployment', 'emberflow-ingest')).ports).splice(1, 1);
      rejects(
        checkK8s(d, 'b', pomKafkaVersion),
        /emberflow-ingest: containerPort lacks 4317, the gRPC \(EMBER_GRPC_PORT\)/,
      );
      d = base();
      arr(obj(findDoc(d, 'Service', 'emberflow-ingest').spec).ports).splice(1, 1);
      rejects(checkK8s(d, 'b', pomKafkaVersion), /Service emberflow-ingest: port lacks 4317/);
      // the decoder runs no gRPC routes: declaring 4317 there is a mistake
      d = base();
      arr(containerOf(findDoc(d, 'Deployment', 'emberflow-decoder')).ports).push({
        name: 'grpc',
        containerPort: 4317,
      });
      rejects(checkK8s(d, 'b', pomKafkaVersion), /decoder: containerPort 4317 is not a port/);
      // EMBER_GRPC_PORT off: ingest opens no gRPC port, so declaring it is a mistake
      d = base();
      obj(findDoc(d, 'ConfigMap', 'emberflow-config').data).EMBER_GRPC_PORT = 'off';
      rejects(checkK8s(d, 'b', pomKafkaVersion), /ingest: containerPort 4317 is not a port/);

      d = renderKustomization(join(root, 'k8s/overlays/dev'));
      arr(containerOf(findDoc(d, 'StatefulSet', 'kafka')).env).push({
        name: 'KAFKA_MESSAGE_MAX_BYTES',
        value: '1048588',
      });
      rejects(
        checkK8s(d, 'dev', pomKafkaVersion),
        /kafka: KAFKA_MESSAGE_MAX_BYTES 1048588 is below/,
      );

      d = base().filter(
        (x) => !(x.kind === 'PodDisruptionBudget' && obj(x.metadata).name === 'emberflow-ingest'),
      );
      rejects(checkK8s(d, 'b', pomKafkaVersion), /emberflow-ingest: no PodDisruptionBudget/);
    });

    it('the kustomize subset merges named lists and refuses what it does not model', () => {
      const merged = strategicMerge(
        { spec: { containers: [{ name: 'a', image: 'x', ports: [1] }], replicas: 1 } },
        { spec: { containers: [{ name: 'a', image: 'y' }], replicas: 3 } },
      );
      assert.deepEqual(merged, {
        spec: { containers: [{ name: 'a', image: 'y', ports: [1] }], replicas: 3 },
      });
      assert.throws(() => strategicMerge({ a: 1 }, { $patch: 'delete' }), /unsupported patch/);
      assert.deepEqual(splitImage('registry.example.com:5000/emberflow'), [
        'registry.example.com:5000/emberflow',
        undefined,
      ]);
      assert.deepEqual(splitImage('r/emberflow:0.1.0'), ['r/emberflow', '0.1.0']);
    });
  });

  describe('malloc settings (libs/runtime/malloc-env.ts)', () => {
    const facts = () => ({
      dockerfile: parseDockerfile(readText('Dockerfile')),
      startScript: str(obj(obj(JSON.parse(readText('package.json'))).scripts).start) ?? '',
      descriptors: mallocDescriptors(),
    });

    it('the image and `npm start` set MALLOC_ENV, and no descriptor another value', () => {
      assert.deepEqual(checkMallocEnv(facts()), []);
    });

    it('rejects broken copies', () => {
      const text = readText('Dockerfile');
      assert.match(text, /MALLOC_ARENA_MAX=2 /);
      rejects(
        checkMallocEnv({
          ...facts(),
          dockerfile: parseDockerfile(text.replace('MALLOC_ARENA_MAX=2 ', '')),
        }),
        /Dockerfile: the runtime stage's ENV MALLOC_ARENA_MAX is unset, not 2/,
      );
      rejects(
        checkMallocEnv({ ...facts(), startScript: 'node scripts/start.mjs' }),
        /scripts\.start does not set MALLOC_ARENA_MAX/,
      );
      rejects(
        checkMallocEnv({
          ...facts(),
          descriptors: { 'k8s/x.yaml': "- name: MALLOC_ARENA_MAX\n  value: '8'\n" },
        }),
        /k8s\/x\.yaml: sets MALLOC_ARENA_MAX to 8, not 2/,
      );
    });
  });

  describe('nest-cli.json', () => {
    it('lists every app and library with entry files that exist', () => {
      assert.deepEqual(checkNestCli(obj(JSON.parse(readText('nest-cli.json')))), []);
    });

    it('rejects broken copies', () => {
      const cli = obj(JSON.parse(readText('nest-cli.json')));
      obj(obj(cli.projects).ingest).entryFile = 'src/main';
      delete obj(cli.projects).queue;
      const problems = checkNestCli(cli);
      rejects(problems, /ingest entry apps\/ingest\/src\/main\.ts does not exist/);
      rejects(problems, /libs\/queue is not a project/);
    });
  });

  it('the docs name the ports, the targets and the scaling rules', () => {
    const doc = readText('docs/deployment.md');
    for (const s of [
      '9529',
      '4317',
      '/healthz',
      '/readyz',
      '/metrics',
      'EMBER_KAFKA_RAW_PARTITIONS',
      'EMBER_TARGETS',
    ])
      assert.ok(doc.includes(s), `docs/deployment.md does not mention ${s}`);
    for (const n of ENV_VARS)
      assert.ok(doc.includes(n), `docs/deployment.md does not document ${n}`);
  });
});
