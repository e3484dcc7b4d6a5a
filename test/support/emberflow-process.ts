import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MALLOC_ENV } from '../../libs/runtime/malloc-env.js';
import { repoRoot } from './paths.js';
import { freePort } from './ports.js';

// Runs a real Emberflow process (the built entry point) for end-to-end tests, and keeps its
// output so a failing test can show it.

export interface EmberProcess {
  url: string;
  port: number;
  /** `127.0.0.1:<port>` of its gRPC edge, when started with `grpc: true` */
  grpcAddress: string | null;
  /** the process id (for /proc readings in benchmarks) */
  pid: number;
  targets: string;
  output(): string;
  /** peak resident set size so far, bytes (VmHWM), while the process runs */
  peakRssBytes(): number;
  /** SIGKILL: no shutdown, no commits */
  kill(): Promise<void>;
  /** SIGTERM and wait for exit */
  stop(): Promise<void>;
}

export { freePort } from './ports.js';

export function tempDataDir(prefix = 'ember-e2e-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function startEmberflow(opts: {
  targets: string;
  env: Record<string, string>;
  port?: number;
  /** serve gRPC on a free test port (off otherwise, so parallel tests never race for 4317) */
  grpc?: boolean;
  readyTimeoutMs?: number;
  /** extra node options before the entry point, e.g. --cpu-prof */
  nodeArgs?: string[];
}): Promise<EmberProcess> {
  const port = opts.port ?? (await freePort());
  const grpcPort = opts.grpc ? await freePort() : null;
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--enable-source-maps',
      ...(opts.nodeArgs ?? []),
      join(repoRoot(), 'dist/apps/emberflow/main.js'),
    ],
    {
      env: {
        // what the image and `npm start` set (libs/runtime/malloc-env.ts), unless the caller's
        // environment says otherwise: tests and benchmarks measure what users run
        ...MALLOC_ENV,
        ...process.env,
        EMBER_HTTP_PORT: String(port),
        EMBER_HTTP_HOST: '127.0.0.1',
        EMBER_TARGETS: opts.targets,
        EMBER_LOG_FORMAT: 'json',
        EMBER_GRPC_PORT: grpcPort === null ? 'off' : String(grpcPort),
        ...opts.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  let exitCode: number | null | undefined;
  void exited.then((c) => (exitCode = c));
  for (;;) {
    if (exitCode !== undefined)
      throw new Error(`emberflow (${opts.targets}) exited with ${exitCode} before ready:\n${out}`);
    try {
      const r = await fetch(`${url}/readyz`);
      if (r.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(
        `emberflow (${opts.targets}) not ready after ${opts.readyTimeoutMs ?? 60_000} ms:\n${out}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    port,
    grpcAddress: grpcPort === null ? null : `127.0.0.1:${grpcPort}`,
    pid: child.pid!,
    targets: opts.targets,
    output: () => out,
    peakRssBytes: () => {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      return m ? Number(m[1]) * 1024 : 0;
    },
    kill: async () => {
      if (exitCode !== undefined) return;
      child.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      if (exitCode !== undefined) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(t);
    },
  };
}
