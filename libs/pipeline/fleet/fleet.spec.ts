import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MemoryStore } from '../../cache/index.js';
import { startReadApp, type ReadApp } from '../query/testing.js';
import { FleetRecorder, instanceOf, parseUserAgent } from './fleet.recorder.js';

describe('fleet view', () => {
  it('parses agent name and version from User-Agent', () => {
    assert.deepEqual(parseUserAgent('pyroscope-java/0.14.0 (linux)'), {
      name: 'pyroscope-java',
      version: '0.14.0',
    });
    assert.deepEqual(parseUserAgent('Go-http-client/1.1'), {
      name: 'Go-http-client',
      version: '1.1',
    });
    assert.deepEqual(parseUserAgent(undefined), {});
    assert.equal(instanceOf([{ name: 'hostname', value: 'h1' }]), 'h1');
    assert.equal(instanceOf([{ name: 'service_name', value: 'x' }]), '');
  });

  it('merges the facets each stage writes into one entry per service and instance', async () => {
    const rec = new FleetRecorder(new MemoryStore());
    const key = { tenant: 't', service: 'api', instance: 'pod-1' };
    await rec.uploadReceived(key, {
      at: 1000,
      bytes: 2048,
      format: 'pprof',
      spyName: 'javaspy',
      agent: 'pyroscope-java',
      agentVersion: '0.14.0',
    });
    await rec.exported('t', [
      { key, facet: { at: 2000, series: 3, bytes: 9000, backend: 'embedded', outcome: 'sent' } },
      { key, facet: { at: 2500, series: 3, bytes: 9000, backend: 'pyro', outcome: 'retrying' } },
    ]);
    await rec.failed(key, { at: 2600, stage: 'exporter', message: 'pyro: 503' });
    await rec.uploadReceived({ ...key, instance: 'pod-2' }, { at: 500, bytes: 10 });
    const list = await rec.list('t');
    assert.equal(list.length, 2);
    assert.deepEqual(list[0], {
      service: 'api',
      instance: 'pod-1',
      lastUploadAt: 1000,
      lastUploadBytes: 2048,
      agent: { spyName: 'javaspy', name: 'pyroscope-java', version: '0.14.0' },
      lastDecodeAt: null,
      lastExportAt: 2500,
      lastExportBytes: 9000,
      backends: { embedded: 'sent', pyro: 'retrying' },
      lastError: { at: 2600, stage: 'exporter', message: 'pyro: 503' },
    });
    assert.deepEqual(await rec.list('other'), []);
  });

  describe('GET /api/v1/fleet', () => {
    let app: ReadApp;
    before(async () => {
      app = await startReadApp({ locked: { credentials: [{ bearer: 'k' }], limits: {} } });
      const rec = new FleetRecorder(app.shared);
      await rec.uploadReceived(
        { tenant: 'anonymous', service: 'open', instance: 'a' },
        { at: 1, bytes: 1 },
      );
      await rec.uploadReceived(
        { tenant: 'locked', service: 'secret-svc', instance: 'b' },
        { at: 2, bytes: 2, spyName: 'gospy' },
      );
    });
    after(() => app.close());

    it('lists only the caller’s tenant’s agents', async () => {
      const anon = (await (await fetch(`${app.url}/api/v1/fleet`)).json()) as {
        tenant: string;
        agents: { service: string }[];
      };
      assert.equal(anon.tenant, 'anonymous');
      assert.deepEqual(
        anon.agents.map((a) => a.service),
        ['open'],
      );
      const denied = await fetch(`${app.url}/api/v1/fleet`, {
        headers: { 'x-scope-orgid': 'locked' },
      });
      assert.equal(denied.status, 401);
      const locked = (await (
        await fetch(`${app.url}/api/v1/fleet`, {
          headers: { 'x-scope-orgid': 'locked', authorization: 'Bearer k' },
        })
      ).json()) as { agents: { service: string; agent: { spyName: string } }[] };
      assert.deepEqual(
        locked.agents.map((a) => [a.service, a.agent.spyName]),
        [['secret-svc', 'gospy']],
      );
    });
  });
});
