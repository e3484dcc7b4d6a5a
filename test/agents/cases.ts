import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { CaseFailure, step } from './harness.js';

// The cases of the agent compatibility suite: per official agent, how to install it (into the
// git-ignored .cache/agents/), how to build and start our small program under it, and what
// Emberflow must then answer. docs/agents.md explains each configuration.

export interface SuiteContext {
  root: string;
  cache: string;
  logFile: string;
}

export interface Launch {
  cmd: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** what was installed, e.g. "grafana/pyroscope-go v1.4.3 (Go module proxy)" */
  versions: string;
}

export interface AgentCase {
  name: string;
  /** which agent and integration the case exercises */
  title: string;
  mode: 'profiles' | 'spans';
  prepare(ctx: SuiteContext): Promise<Launch>;
  /** profile type IDs that must arrive with the configured tags */
  expectTypes: string[];
  /** the profile whose flame graph the hot function must dominate */
  dominant: { type: string; hot: RegExp; cold: RegExp };
  /** span cases: the sample label that carries the span id when no span query exists */
  spanLabel?: string;
  /**
   * span cases that export their traces to Emberflow as Datakit's examples do, over OTLP/HTTP
   * (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = <emberflow>/otel/v1/traces) or OTLP/gRPC
   * (EMBER_OTLP_GRPC_ENDPOINT = its gRPC address): each span's trace must be readable through
   * /api/traces/{id}
   */
  traces?: 'http' | 'grpc';
}

const CPU = 'process_cpu:cpu:nanoseconds:cpu:nanoseconds';

// ---- per-language preparation, shared by a language's cases (run once per suite) -------------

const once = new Map<string, Promise<unknown>>();
function memo<T>(key: string, f: () => Promise<T>): Promise<T> {
  let p = once.get(key) as Promise<T> | undefined;
  if (!p) {
    p = f();
    once.set(key, p);
  }
  return p;
}

function stamp(dir: string, name: string, inputs: string[]): { fresh: boolean; save(): void } {
  const h = createHash('sha256');
  for (const f of inputs) h.update(readFileSync(f));
  const digest = h.digest('hex');
  const file = join(dir, `.${name}.stamp`);
  const fresh = existsSync(file) && readFileSync(file, 'utf8') === digest;
  return { fresh, save: () => writeFileSync(file, digest) };
}

async function toolchain(
  ctx: SuiteContext,
  what: string,
  cmd: string,
  args: string[],
): Promise<string> {
  try {
    return (
      await step(`${what} toolchain check`, cmd, args, {
        cwd: ctx.root,
        timeoutMs: 60_000,
        logFile: ctx.logFile,
      })
    )
      .trim()
      .split('\n')[0];
  } catch (err) {
    throw new CaseFailure(
      `${what} toolchain not installed (${cmd} ${args.join(' ')})`,
      (err as CaseFailure).detail,
    );
  }
}

function goEnv(ctx: SuiteContext): NodeJS.ProcessEnv {
  const go = join(ctx.cache, 'go');
  return {
    ...process.env,
    GOMODCACHE: join(go, 'mod'),
    GOPATH: join(go, 'path'),
    GOCACHE: join(go, 'build'),
    GOFLAGS: '-modcacherw',
    GOTOOLCHAIN: 'local',
  };
}

function prepareGo(ctx: SuiteContext): Promise<Launch> {
  return memo('go', async () => {
    const src = join(ctx.root, 'test/agents/go');
    const env = goEnv(ctx);
    const tc = await toolchain(ctx, 'Go', 'go', ['version']);
    const bin = join(ctx.cache, 'go/bin/ember-agent-go');
    await step(
      'go build (downloads modules into .cache/agents/go)',
      'go',
      ['build', '-o', bin, '.'],
      {
        cwd: src,
        env,
        timeoutMs: 600_000,
        logFile: ctx.logFile,
      },
    );
    const mods = await step(
      'go list -m',
      'go',
      [
        'list',
        '-m',
        'github.com/grafana/pyroscope-go',
        'github.com/grafana/pyroscope-go/godeltaprof',
        'github.com/grafana/otel-profiling-go',
      ],
      {
        cwd: src,
        env,
        timeoutMs: 120_000,
        logFile: ctx.logFile,
      },
    );
    return {
      cmd: bin,
      args: [],
      cwd: src,
      env: {},
      versions: `${mods.trim().split('\n').join(', ')} (Go module proxy; ${tc})`,
    };
  });
}

function prepareJava(
  ctx: SuiteContext,
): Promise<{ target: string; versions: string; java: string }> {
  return memo('java', async () => {
    const src = join(ctx.root, 'test/agents/java');
    const tc = await toolchain(ctx, 'Java', 'java', ['-version']);
    await toolchain(ctx, 'Maven', 'mvn', ['-v']);
    const target = join(ctx.cache, 'java/target');
    await step(
      'mvn package (downloads the agents into .cache/agents/maven/repo)',
      'mvn',
      [
        '-B',
        '-q',
        `-Dmaven.repo.local=${join(ctx.cache, 'maven/repo')}`,
        `-Dember.build.dir=${target}`,
        // clean: no jar of an earlier pin stays in target/agents or on the classpath
        'clean',
        'package',
      ],
      { cwd: src, timeoutMs: 600_000, logFile: ctx.logFile },
    );
    const pom = readFileSync(join(src, 'pom.xml'), 'utf8');
    const v = (property: string): string =>
      new RegExp(`<${property}>([^<]+)</`).exec(pom)?.[1] ?? '?';
    return {
      target,
      java: tc,
      versions: `io.pyroscope:agent ${v('pyroscope.agent.version')}, io.pyroscope:otel ${v('pyroscope.otel.version')}, io.opentelemetry.javaagent:opentelemetry-javaagent ${v('otel.javaagent.version')} (Maven Central; ${tc})`,
    };
  });
}

/** target/agents/<artifact>-<version>.jar, the version read from the pom's properties. */
function jar(ctx: SuiteContext, target: string, artifact: string, versionProperty: string): string {
  const pom = readFileSync(join(ctx.root, 'test/agents/java/pom.xml'), 'utf8');
  const version = new RegExp(`<${versionProperty}>([^<]+)</`).exec(pom)?.[1];
  const f = join(target, 'agents', `${artifact}-${version}.jar`);
  if (!version || !existsSync(f)) throw new CaseFailure(`${f} missing after mvn package`);
  return f;
}

async function launchJava(ctx: SuiteContext, spans: boolean): Promise<Launch> {
  const { target, versions } = await prepareJava(ctx);
  const cp = [
    join(target, 'ember-agent-java-0.1.0.jar'),
    ...readdirSync(join(target, 'lib')).map((f) => join(target, 'lib', f)),
  ].join(':');
  const agents = [`-javaagent:${jar(ctx, target, 'agent', 'pyroscope.agent.version')}`];
  if (spans)
    agents.push(
      `-javaagent:${jar(ctx, target, 'opentelemetry-javaagent', 'otel.javaagent.version')}`,
      `-Dotel.javaagent.extensions=${jar(ctx, target, 'otel', 'pyroscope.otel.version')}`,
    );
  // The pid is only known inside the process: like a start script would, the shell appends
  // process_id=$$ to PYROSCOPE_LABELS and then becomes the JVM (exec keeps the pid).
  const script = `PYROSCOPE_LABELS="$PYROSCOPE_LABELS,process_id=$$" ${spans ? 'OTEL_SERVICE_NAME="$PYROSCOPE_APPLICATION_NAME" ' : ''}exec java ${agents.map((a) => `'${a}'`).join(' ')} -cp '${cp}' emberflow.EmberApp`;
  return {
    cmd: 'bash',
    args: ['-c', script],
    cwd: join(ctx.root, 'test/agents/java'),
    env: {
      PYROSCOPE_FORMAT: 'jfr',
      PYROSCOPE_PROFILER_EVENT: 'itimer',
      PYROSCOPE_PROFILER_ALLOC: '256k',
      PYROSCOPE_PROFILER_LOCK: '1ms',
      PYROSCOPE_LOG_LEVEL: 'info',
      ...(spans
        ? {
            // Datakit's Java example: traces over OTLP/HTTP protobuf, gzip, to
            // /otel/v1/traces (the suite sets OTEL_EXPORTER_OTLP_TRACES_ENDPOINT); metrics and
            // logs stay off, as no backend for them is configured here
            OTEL_TRACES_EXPORTER: 'otlp',
            OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
            OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
            OTEL_METRICS_EXPORTER: 'none',
            OTEL_LOGS_EXPORTER: 'none',
            OTEL_PYROSCOPE_ADD_SPAN_NAME: 'true',
          }
        : {}),
    },
    versions,
  };
}

function preparePython(ctx: SuiteContext): Promise<Launch> {
  return memo('python', async () => {
    const src = join(ctx.root, 'test/agents/python');
    const tc = await toolchain(ctx, 'Python', 'python3', ['--version']);
    const venv = join(ctx.cache, 'python/venv');
    const py = join(venv, 'bin/python');
    if (!existsSync(py))
      await step('python3 -m venv', 'python3', ['-m', 'venv', venv], {
        cwd: src,
        timeoutMs: 120_000,
        logFile: ctx.logFile,
      });
    const st = stamp(venv, 'requirements', [join(src, 'requirements.txt')]);
    if (!st.fresh) {
      await step(
        'pip install -r requirements.txt (PyPI)',
        py,
        ['-m', 'pip', 'install', '-q', '-r', 'requirements.txt'],
        {
          cwd: src,
          timeoutMs: 600_000,
          logFile: ctx.logFile,
        },
      );
      st.save();
    }
    const freeze = await step('pip freeze', py, ['-m', 'pip', 'freeze'], {
      cwd: src,
      timeoutMs: 60_000,
      logFile: ctx.logFile,
    });
    const pins = freeze
      .split('\n')
      .filter((l) => /^(pyroscope-io|pyroscope-otel|opentelemetry-sdk)==/.test(l))
      .join(', ');
    return {
      cmd: py,
      args: [join(src, 'app.py')],
      cwd: src,
      env: {},
      versions: `${pins} (PyPI; ${tc})`,
    };
  });
}

function prepareRust(ctx: SuiteContext, dir: 'rust' | 'rust-legacy'): Promise<Launch> {
  return memo(dir, async () => {
    const src = join(ctx.root, 'test/agents', dir);
    const tc = await toolchain(ctx, 'Rust', 'cargo', ['--version']);
    // One target dir for both Rust cases: shared dependencies compile once.
    const target = join(ctx.cache, 'rust/target');
    const env = { ...process.env, CARGO_HOME: join(ctx.cache, 'cargo'), CARGO_TARGET_DIR: target };
    await step(
      'cargo build --release --locked (crates.io into .cache/agents/cargo)',
      'cargo',
      ['build', '--release', '--locked'],
      { cwd: src, env, timeoutMs: 1_500_000, logFile: ctx.logFile },
    );
    const lock = readFileSync(join(src, 'Cargo.lock'), 'utf8');
    const version = (crate: string): string =>
      new RegExp(`name = "${crate}"\nversion = "([^"]+)"`).exec(lock)?.[1] ?? '?';
    return {
      cmd: join(target, 'release', `ember-agent-${dir}`),
      args: [],
      cwd: src,
      env: {},
      versions:
        dir === 'rust'
          ? `crate pyroscope ${version('pyroscope')} with feature backend-pprof-rs (crates.io; ${tc})`
          : `crates pyroscope ${version('pyroscope')} + pyroscope_pprofrs ${version('pyroscope_pprofrs')} (crates.io; ${tc})`,
    };
  });
}

function prepareNode(ctx: SuiteContext): Promise<Launch> {
  return memo('node', async () => {
    const src = join(ctx.root, 'test/agents/node');
    const dir = join(ctx.cache, 'node');
    mkdirSync(dir, { recursive: true });
    // The agent is installed into the cache folder, never into the project's node_modules.
    for (const f of ['package.json', 'app.mjs']) copyFileSync(join(src, f), join(dir, f));
    const st = stamp(dir, 'package', [join(src, 'package.json')]);
    if (!st.fresh || !existsSync(join(dir, 'node_modules/@pyroscope/nodejs/package.json'))) {
      await step(
        'npm install @pyroscope/nodejs (npm registry, into .cache/agents/node)',
        'npm',
        [
          'install',
          '--no-audit',
          '--no-fund',
          '--no-save',
          '--cache',
          join(ctx.cache, 'npm-cache'),
        ],
        {
          cwd: dir,
          timeoutMs: 600_000,
          logFile: ctx.logFile,
        },
      );
      st.save();
    }
    const v = (p: string): string =>
      (
        JSON.parse(readFileSync(join(dir, 'node_modules', p, 'package.json'), 'utf8')) as {
          version: string;
        }
      ).version;
    return {
      cmd: process.execPath,
      args: [join(dir, 'app.mjs')],
      cwd: dir,
      env: {},
      versions: `@pyroscope/nodejs ${v('@pyroscope/nodejs')} with @datadog/pprof ${v('@datadog/pprof')} (npm registry; node ${process.version})`,
    };
  });
}

// ---- the cases ------------------------------------------------------------------------------

export const cases: AgentCase[] = [
  {
    name: 'go',
    title: 'grafana/pyroscope-go (CPU, heap, goroutines, mutex, block)',
    mode: 'profiles',
    prepare: prepareGo,
    expectTypes: [
      CPU,
      'memory:alloc_objects:count:space:bytes',
      'memory:alloc_space:bytes:space:bytes',
      'memory:inuse_objects:count:space:bytes',
      'memory:inuse_space:bytes:space:bytes',
      'goroutines:goroutine:count:goroutine:count',
      'mutex:contentions:count:contentions:count',
      'mutex:delay:nanoseconds:contentions:count',
      'block:contentions:count:contentions:count',
      'block:delay:nanoseconds:contentions:count',
    ],
    dominant: { type: CPU, hot: /emberHotLoop/, cold: /emberColdLoop/ },
  },
  {
    name: 'go-otel',
    title: 'grafana/otel-profiling-go + otlptracehttp to /otel/v1/traces (span profiles, traces)',
    mode: 'spans',
    prepare: prepareGo,
    expectTypes: [CPU],
    dominant: { type: CPU, hot: /emberHotLoop/, cold: /emberColdLoop/ },
    spanLabel: 'span_id',
    traces: 'http',
  },
  {
    name: 'java',
    title: 'io.pyroscope:agent, JFR (itimer CPU, alloc, lock)',
    mode: 'profiles',
    prepare: (ctx) => launchJava(ctx, false),
    expectTypes: [
      CPU,
      'memory:alloc_in_new_tlab_objects:count:space:bytes',
      'memory:alloc_in_new_tlab_bytes:bytes:space:bytes',
      'mutex:contentions:count:mutex:count',
      'mutex:delay:nanoseconds:mutex:count',
    ],
    dominant: { type: CPU, hot: /emberHotLoop/, cold: /emberColdLoop/ },
  },
  {
    name: 'java-otel',
    title:
      'io.pyroscope:otel + OpenTelemetry Java agent, traces to /otel/v1/traces (span profiles)',
    mode: 'spans',
    prepare: (ctx) => launchJava(ctx, true),
    expectTypes: [CPU],
    dominant: { type: CPU, hot: /emberHotLoop/, cold: /emberColdLoop/ },
    spanLabel: 'profile_id',
    traces: 'http',
  },
  {
    name: 'python',
    title: 'pyroscope-io (py-spy, Push API)',
    mode: 'profiles',
    prepare: preparePython,
    expectTypes: [CPU],
    dominant: { type: CPU, hot: /ember_hot_loop/, cold: /ember_cold_loop/ },
  },
  {
    name: 'python-otel',
    title: 'pyroscope-otel + gRPC OTLPSpanExporter (span profiles, traces)',
    mode: 'spans',
    prepare: preparePython,
    expectTypes: [CPU],
    dominant: { type: CPU, hot: /ember_hot_loop/, cold: /ember_cold_loop/ },
    spanLabel: 'span_id',
    traces: 'grpc',
  },
  {
    name: 'rust',
    title: 'crate pyroscope 2.x, pprof-rs backend (Push API)',
    mode: 'profiles',
    prepare: (ctx) => prepareRust(ctx, 'rust'),
    expectTypes: [CPU],
    dominant: { type: CPU, hot: /ember_hot_loop/, cold: /ember_cold_loop/ },
  },
  {
    name: 'rust-legacy',
    title: 'crates pyroscope 0.5 + pyroscope_pprofrs (legacy /ingest?format=pprof)',
    mode: 'profiles',
    prepare: (ctx) => prepareRust(ctx, 'rust-legacy'),
    expectTypes: [CPU],
    dominant: { type: CPU, hot: /ember_hot_loop/, cold: /ember_cold_loop/ },
  },
  {
    name: 'node',
    title: '@pyroscope/nodejs (wall and heap)',
    mode: 'profiles',
    prepare: prepareNode,
    expectTypes: [
      // @datadog/pprof 5.x (under @pyroscope/nodejs 0.6) writes sample/count (renamed samples by
      // the agent) and wall/nanoseconds; older versions wrote microseconds.
      'wall:wall:nanoseconds:wall:nanoseconds',
      'wall:samples:count:wall:nanoseconds',
      'memory:inuse_space:bytes:inuse_space:bytes',
      'memory:inuse_objects:count:inuse_space:bytes',
    ],
    dominant: {
      type: 'wall:wall:nanoseconds:wall:nanoseconds',
      hot: /emberHotLoop/,
      cold: /emberColdLoop/,
    },
  },
];

/** Agents the suite cannot cover here, said on every run (they are not counted as cases). */
export const notCovered: { name: string; why: string }[] = [
  {
    name: 'ruby',
    why: 'the `pyroscope` gem (and Ruby pyroscope-otel) is published only on RubyGems, which this machine and CI cannot reach; Debian has no package of it',
  },
  {
    name: 'dotnet',
    why: 'the Pyroscope .NET profiler ships through NuGet and GitHub releases, neither reachable here (no Pyroscope package is among the NuGet packages this workplace lists), and no .NET SDK is installed',
  },
];
