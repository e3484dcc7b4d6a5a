import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { listenOnFreePort } from '../../test/support/ports.js';
import { repoRoot } from '../../test/support/paths.js';

// The built entry point as a newcomer meets it: --help and --version print and exit 0, a stray
// argument exits 2, a port in use is one line on stderr and exit 1, and on embedded defaults
// with no credentials it listens on 127.0.0.1 and says so.

const MAIN = join(repoRoot(), 'dist/apps/emberflow/main.js');
const dataDirs: string[] = [];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: Record<string, string> = {}, untilStdout?: RegExp): Promise<Run> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ember-main-'));
  dataDirs.push(dataDir);
  const child = spawn(process.execPath, [MAIN, ...args], {
    env: {
      PATH: process.env.PATH ?? '',
      EMBER_DATA_DIR: dataDir,
      EMBER_LOG_FORMAT: 'json',
      EMBER_DECODE_WORKERS: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let stopping = false;
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (untilStdout?.test(stdout) && !stopping) {
      stopping = true;
      void untilServing(env.EMBER_HTTP_PORT).then(() => child.kill('SIGTERM'));
    }
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(guard);
      resolve({ code, stdout, stderr });
    }),
  );
}

/** Waits until 127.0.0.1:port answers /healthz (then its signal handlers are installed). */
async function untilServing(port: string | undefined): Promise<boolean> {
  for (let i = 0; i < 300; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`, {
        signal: AbortSignal.timeout(2000),
      });
      if (r.ok) return true;
    } catch {
      // not yet (or a connection that got no answer in time)
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

const listen = (server: Server, port: number, host: string): Promise<Server> =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });

describe('the emberflow entry point', () => {
  after(() => {
    for (const d of dataDirs) rmSync(d, { recursive: true, force: true });
  });

  it('--help prints the targets and every setting, and exits 0 without starting', async () => {
    const r = await run(['--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, /^Emberflow \d+\.\d+\.\d+/);
    assert.match(r.stdout, /^ {2}exporter /m);
    assert.match(r.stdout, /EMBER_HTTP_PORT \[9529\]/);
    assert.match(r.stdout, /limits\.ingestionRateBytes/);
    assert.doesNotMatch(r.stdout, /listening|Nest/);
  });

  it('--version prints the version; a stray argument exits 2 naming it', async () => {
    const v = await run(['--version']);
    assert.equal(v.code, 0);
    assert.match(v.stdout, /^emberflow \d+\.\d+\.\d+\n$/);
    const bad = await run(['--port', '80']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown argument "--port"/);
    assert.equal(bad.stdout, '');
  });

  it('a port in use is one line naming the port and EMBER_HTTP_PORT, and exit 1', async () => {
    const server = await listenOnFreePort((port) => listen(createServer(), port, '127.0.0.1'));
    try {
      const port = (server.address() as { port: number }).port;
      const r = await run([], { EMBER_HTTP_PORT: String(port) });
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '', 'nothing is logged before the port check');
      const lines = r.stderr.split('\n').filter(Boolean);
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`));
      assert.match(lines[0], /EMBER_HTTP_PORT/);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('on embedded defaults without credentials it listens on 127.0.0.1 and says so', async () => {
    const probe = await listenOnFreePort((port) => listen(createServer(), port, '127.0.0.1'));
    const port = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    const r = await run([], { EMBER_HTTP_PORT: String(port) }, /127\.0\.0\.1 only/);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`listening on 127\\.0\\.0\\.1:${port}`));
    assert.match(r.stdout, /127\.0\.0\.1 only.*EMBER_HTTP_HOST=0\.0\.0\.0/);
  });
});
