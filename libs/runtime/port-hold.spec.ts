import assert from 'node:assert/strict';
import { connect, createServer, type Server } from 'node:net';
import { describe, it } from 'node:test';
import { listenOnFreePort } from '../../test/support/ports.js';
import { holdPort, listenError, StartupError } from './port-hold.js';

const closed = (s: Server): Promise<void> => new Promise((r) => s.close(() => r()));

describe('the HTTP port held during start-up', () => {
  it('a port in use is a StartupError naming the port and EMBER_HTTP_PORT', async () => {
    const other = await listenOnFreePort(
      (port) =>
        new Promise<Server>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(port, '127.0.0.1', () => resolve(s));
        }),
    );
    const port = (other.address() as { port: number }).port;
    try {
      await assert.rejects(holdPort('127.0.0.1', port), (err: Error) => {
        assert.ok(err instanceof StartupError);
        assert.match(err.message, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`));
        assert.match(err.message, /EMBER_HTTP_PORT/);
        assert.doesNotMatch(err.message, /\n/);
        return true;
      });
    } finally {
      await closed(other);
    }
  });

  it('a client connected meanwhile does not keep it from closing (a probe stalled boot)', async () => {
    // regression: the hold accepted a readiness probe's connection and never answered, so
    // close() waited for the probe and the process never listened (seen with Kafka, whose
    // connects let the event loop accept the probe)
    const hold = await listenOnFreePort((port) =>
      holdPort('127.0.0.1', port).then((s) => s ?? Promise.reject(new Error('no hold'))),
    );
    const port = (hold.address() as { port: number }).port;
    const client = connect(port, '127.0.0.1');
    client.on('error', () => undefined);
    const ended = new Promise<void>((r) => client.once('close', () => r()));
    await new Promise<void>((r) => client.once('connect', () => r()));
    const stuck = new Promise<'stuck'>((r) => setTimeout(() => r('stuck'), 10_000).unref());
    // the hold drops the client, and then closes
    const outcome = await Promise.race([
      ended.then(() => closed(hold)).then(() => 'closed'),
      stuck,
    ]);
    client.destroy();
    if (outcome === 'stuck') await closed(hold);
    assert.equal(outcome, 'closed');
  });

  it('port 0 needs no hold; other bind errors name what to set', () => {
    return holdPort('127.0.0.1', 0).then((h) => {
      assert.equal(h, null);
      const e = listenError(
        Object.assign(new Error('x'), { code: 'EADDRNOTAVAIL' }),
        '10.9.9.9',
        1,
      );
      assert.match(e.message, /10\.9\.9\.9 is not an address of this machine.*EMBER_HTTP_HOST/);
      const p = listenError(Object.assign(new Error('x'), { code: 'EACCES' }), '0.0.0.0', 80);
      assert.match(p.message, /no permission to listen on port 80.*EMBER_HTTP_PORT/);
    });
  });
});
