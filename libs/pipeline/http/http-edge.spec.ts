import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { listenOnFreePort } from '../../../test/support/ports.js';
import { bootstrap, type RunningEmberflow } from '../../runtime/bootstrap.js';

// The HTTP edge of a whole one-process Emberflow on embedded defaults, spoken to over raw
// sockets: what a slow, oversized, unauthenticated or untimely request gets, before its body.

const MiB = 1024 * 1024;

async function start(
  env: Record<string, string>,
): Promise<{ app: RunningEmberflow; port: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'ember-edge-'));
  writeFileSync(
    join(dir, 'config.yaml'),
    'tenants:\n  acme:\n    credentials:\n      - bearer: s3cret\n',
  );
  return listenOnFreePort(async (port) => {
    const app = await bootstrap({
      env: {
        EMBER_HTTP_PORT: String(port),
        EMBER_GRPC_PORT: 'off',
        EMBER_HTTP_HOST: '127.0.0.1',
        EMBER_DATA_DIR: dir,
        EMBER_CONFIG: join(dir, 'config.yaml'),
        EMBER_LOG_LEVEL: 'error',
        EMBER_DECODE_WORKERS: '0',
        // a loaded test machine lags; these tests are about the budget, not CPU shedding
        EMBER_INGEST_MAX_EVENT_LOOP_DELAY: '0',
        ...env,
      },
    });
    return { app, port };
  });
}

/** A keep-alive connection that collects what the server sends. */
class Conn {
  readonly socket: Socket;
  private data = '';
  readonly closed: Promise<void>;

  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('data', (d: Buffer) => (this.data += d.toString('latin1')));
    this.socket.on('error', () => {});
    this.closed = new Promise((r) => this.socket.once('close', () => r()));
  }

  write(s: string | Buffer): void {
    this.socket.write(s);
  }

  /** Waits for the next complete response (headers + Content-Length body) and takes it. */
  async response(
    timeoutMs = 20_000,
  ): Promise<{ status: number; headers: Record<string, string>; body: string }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = this.data.indexOf('\r\n\r\n');
      if (end >= 0) {
        const head = this.data.slice(0, end).split('\r\n');
        const headers: Record<string, string> = {};
        for (const l of head.slice(1))
          headers[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
        const len = Number(headers['content-length'] ?? 0);
        if (this.data.length >= end + 4 + len) {
          const body = this.data.slice(end + 4, end + 4 + len);
          this.data = this.data.slice(end + 4 + len);
          return { status: Number(head[0].split(' ')[1]), headers, body };
        }
      }
      if (Date.now() > deadline)
        throw new Error(`no response; got ${JSON.stringify(this.data.slice(0, 300))}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

const upload = (length: number, extra = ''): string =>
  `POST /ingest?name=edge.cpu HTTP/1.1\r\nHost: x\r\nContent-Length: ${length}\r\n${extra}\r\n`;

describe('HTTP edge: timeouts, body limits, auth and admission before the body is read', () => {
  let app: RunningEmberflow;
  let port: number;
  before(async () => {
    ({ app, port } = await start({
      EMBER_INGEST_INFLIGHT_BYTES: String(MiB),
      EMBER_INGEST_ADMISSION_WAIT: '0',
      EMBER_MAX_BODY_BYTES: String(4 * MiB),
    }));
  });
  after(async () => {
    await app.close();
  });

  it('answers 408 to a slow body and closes its connection (regression: a body sent one byte every 4 s kept it open for ever)', async () => {
    const c = new Conn(port);
    c.write(upload(1_000_000));
    c.write('a');
    const timer = setInterval(() => c.write('a'), 4_000);
    try {
      const r = await c.response(30_000);
      assert.equal(r.status, 408);
      assert.equal(r.headers.connection, 'close');
      assert.match(
        JSON.parse(r.body).message,
        /request body too slow: .* below the minimum of 16384 bytes\/s \(EMBER_HTTP_BODY_MIN_RATE\)/,
      );
      await c.closed;
    } finally {
      clearInterval(timer);
    }
  });

  it('answers 413 from the Content-Length alone, before the body is sent', async () => {
    const c = new Conn(port);
    c.write(upload(5 * MiB));
    const r = await c.response();
    assert.equal(r.status, 413);
    assert.match(
      JSON.parse(r.body).message,
      /5242880 bytes, the limit is 4194304 bytes \(EMBER_MAX_BODY_BYTES\)/,
    );
    c.socket.destroy();
  });

  it('answers 401 before the body is read when the tenant needs credentials', async () => {
    const c = new Conn(port);
    c.write(upload(3 * MiB, 'X-Scope-OrgID: acme\r\n'));
    const r = await c.response();
    assert.equal(r.status, 401);
    assert.match(JSON.parse(r.body).message, /tenant acme requires credentials/);
    c.socket.destroy();
  });

  it('sheds an upload past the in-flight budget with 503 and Retry-After, and keeps its connection usable', async () => {
    const holder = new Conn(port);
    holder.write(upload(MiB)); // admitted: holds the whole budget while its body is awaited
    await new Promise((r) => setTimeout(r, 200));
    const c = new Conn(port);
    c.write(upload(1000));
    const shed = await c.response();
    assert.equal(shed.status, 503);
    assert.ok(Number(shed.headers['retry-after']) >= 1, shed.headers['retry-after']);
    assert.match(JSON.parse(shed.body).message, /ingest budget is in use .* retry after \d+s/);
    // the sender writes its body anyway: the server reads it away, no reset, and the same
    // connection serves the next request
    c.write('x'.repeat(1000));
    c.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    const next = await c.response();
    assert.equal(next.status, 200);
    assert.equal(c.socket.destroyed, false);
    // queries are not uploads: the full budget does not hold them up
    const q = '{}';
    c.write(
      `POST /querier.v1.QuerierService/ProfileTypes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${q.length}\r\n\r\n${q}`,
    );
    assert.equal((await c.response()).status, 200);
    holder.socket.destroy();
    c.socket.destroy();
    // the holder's budget comes back when its connection goes
    const deadline = Date.now() + 5_000;
    for (;;) {
      const again = new Conn(port);
      again.write(upload(10, 'Content-Type: text/plain\r\n') + 'main;a 1\n');
      const r = await again.response();
      again.socket.destroy();
      if (r.status !== 503 || Date.now() > deadline) {
        assert.notEqual(r.status, 503);
        break;
      }
      await new Promise((res) => setTimeout(res, 100));
    }
  });
});
