import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { MemoryStore } from '../../cache/index.js';
import { Metrics } from '../../observability/index.js';
import { loadConfig } from '../../runtime/config.js';
import { FleetRecorder } from '../fleet/fleet.recorder.js';
import { TenantResolver } from '../tenancy/tenant-resolver.js';
import { IngestController } from './ingest.controller.js';
import type { IngestService } from './ingest.service.js';

// The handler deadline: an upload whose handling stalls (a dependency that neither answers
// nor fails) is answered 503 with Retry-After, and the service is told to give up.

function reply() {
  const sent: { status?: number; headers: Record<string, string>; body?: unknown } = {
    headers: {},
  };
  const r = {
    status(s: number) {
      sent.status = s;
      return r;
    },
    headers(h: Record<string, string>) {
      Object.assign(sent.headers, h);
      return r;
    },
    header(k: string, v: string) {
      sent.headers[k] = v;
      return r;
    },
    type() {
      return r;
    },
    async send(b?: unknown) {
      sent.body = b;
    },
  };
  return { r: r as unknown as FastifyReply, sent };
}

describe('IngestController', () => {
  it('answers 503 with Retry-After when handling outlives EMBER_HTTP_HANDLER_TIMEOUT, and aborts it', async () => {
    const config = loadConfig({ EMBER_HTTP_HANDLER_TIMEOUT: '50ms' });
    const metrics = new Metrics();
    let aborted = false;
    const stalled = {
      accept: (input: { signal?: AbortSignal }) =>
        new Promise(() => input.signal?.addEventListener('abort', () => (aborted = true))),
    } as unknown as IngestService;
    const c = new IngestController(
      stalled,
      new TenantResolver(config),
      metrics,
      new FleetRecorder(new MemoryStore()),
      config,
    );
    const { r, sent } = reply();
    await c.handle(
      {
        method: 'POST',
        url: '/ingest?name=a',
        headers: {},
        body: Buffer.from('a 1'),
      } as unknown as FastifyRequest,
      r,
    );
    assert.equal(sent.status, 503);
    assert.equal(sent.headers['retry-after'], '5');
    assert.match((sent.body as { message: string }).message, /EMBER_HTTP_HANDLER_TIMEOUT/);
    assert.equal(aborted, true);
    assert.match(
      await metrics.registry.metrics(),
      /emberflow_http_timeouts_total\{phase="handler"\} 1/,
    );
  });
});
