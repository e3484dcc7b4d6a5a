import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

// A real OpenTelemetry Collector for the forwarding tests: test/otelcol (the Collector's own
// OTLP receiver and OTLP/HTTP exporter modules, v0.165.0), built with Go from the module proxy
// and cached under .cache/otelcol/ by the hash of its sources, as test/agents caches toolchains.

/** Builds the collector if its cached binary is missing; returns its path. */
export function ensureOtelCollector(): string {
  const src = join(repoRoot(), 'test/otelcol');
  const h = createHash('sha256');
  for (const f of ['go.mod', 'go.sum', 'main.go']) h.update(readFileSync(join(src, f)));
  const dir = join(repoRoot(), '.cache/otelcol');
  const bin = join(dir, `otelcol-${h.digest('hex').slice(0, 12)}`);
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('go', ['build', '-o', bin, '.'], {
    cwd: src,
    stdio: 'inherit',
    timeout: 15 * 60_000,
    env: { ...process.env, GOFLAGS: '-mod=mod', CGO_ENABLED: '0' },
  });
  if (r.status !== 0)
    throw new Error(
      `building the OpenTelemetry Collector (test/otelcol) failed (exit ${r.status}): Go and the Go module proxy are needed`,
    );
  return bin;
}

export interface RunningCollector {
  port: number;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts the collector: OTLP/HTTP on 127.0.0.1:`port`, every signal exported to `forwardTo`
 * (OTLP/HTTP) with its queue and retries off, so it answers a request only once the next hop
 * took it (or with the next hop's failure). Resolves once the port accepts connections.
 */
export async function startOtelCollector(
  bin: string,
  port: number,
  forwardTo: string,
): Promise<RunningCollector> {
  const cfg = join(tmpdir(), `otelcol-${port}-${Date.now()}.yaml`);
  writeFileSync(
    cfg,
    `receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${port}
exporters:
  otlp_http:
    endpoint: ${forwardTo}
    sending_queue:
      enabled: false
    retry_on_failure:
      enabled: false
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    traces: { receivers: [otlp], exporters: [otlp_http] }
    metrics: { receivers: [otlp], exporters: [otlp_http] }
    logs: { receivers: [otlp], exporters: [otlp_http] }
`,
  );
  const child: ChildProcess = spawn(bin, ['--config', `file:${cfg}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the collector exited at start:\n${out}`);
    const ok = await fetch(`http://127.0.0.1:${port}/v1/traces`, { method: 'GET' }).then(
      () => true,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the collector did not listen on ${port} within 30 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    port,
    output: () => out,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
