import { All, Controller, Inject, Logger, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Metrics } from '../../observability/index.js';
import { PUSH_ACCEPT_POST } from '../../protocol/index.js';
import type { EmberConfig } from '../../runtime/config.js';
import { HttpFailure, errorBody } from '../core/http-error.js';
import { EMBER_CONFIG } from '../core/tokens.js';
import { TenantResolver } from '../tenancy/tenant-resolver.js';
import { FleetRecorder, parseUserAgent, type AgentKey } from '../fleet/fleet.recorder.js';
import { agentKeyOfUpload } from '../fleet/upload-identity.js';
import { IngestService } from './ingest.service.js';

// POST /ingest and /pyroscope/ingest, as the Pyroscope server routes them. Other methods get
// 405 like Pyroscope's router. One structured log line per rejected upload, none per accepted.

@Controller()
export class IngestController {
  private readonly log = new Logger('Ingest');

  constructor(
    private readonly ingest: IngestService,
    private readonly tenants: TenantResolver,
    private readonly metrics: Metrics,
    private readonly fleet: FleetRecorder,
    @Inject(EMBER_CONFIG) private readonly config: EmberConfig,
  ) {}

  /**
   * Runs an upload's handling (envelope, dedupe, rate limit, publish) within
   * EMBER_HTTP_HANDLER_TIMEOUT of its body having arrived: past it the agent gets 503 with
   * Retry-After, and `signal` tells the service to give up its dedupe claim.
   */
  private async withDeadline<T>(run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const ms = this.config.http.handlerTimeoutMs;
    const ac = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        ac.abort();
        this.metrics.httpTimeouts.inc({ phase: 'handler' });
        reject(
          new HttpFailure(
            503,
            `the upload was not handled within ${ms} ms (EMBER_HTTP_HANDLER_TIMEOUT): the queue or shared state is slow; retry later`,
            'handler_timeout',
            { 'retry-after': '5' },
          ),
        );
      }, ms);
    });
    const work = run(ac.signal);
    work.catch(() => {}); // settles after the deadline when it expired: nobody waits for it then
    try {
      return await Promise.race([work, expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Best effort: the fleet view never fails an upload (the recorder swallows store errors). */
  private record(
    req: FastifyRequest,
    key: AgentKey,
    event: { ok: true; format: string; spy: string } | { ok: false; message: string },
  ): void {
    if (event.ok) {
      const ua = parseUserAgent(header(req, 'user-agent'));
      void this.fleet.uploadReceived(key, {
        at: Date.now(),
        bytes: Buffer.isBuffer(req.body) ? req.body.length : 0,
        format: event.format,
        spyName: event.spy,
        agent: ua.name,
        agentVersion: ua.version,
      });
    } else {
      void this.fleet.failed(key, { at: Date.now(), stage: 'ingest', message: event.message });
    }
  }

  @All(['ingest', 'pyroscope/ingest'])
  async handle(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const rawQuery = req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '';
    let tenant = 'unknown';
    let format = 'unknown';
    let spy = 'unknown';
    try {
      if (req.method !== 'POST') {
        throw new HttpFailure(
          405,
          `method ${req.method} not allowed: send uploads with POST`,
          'invalid_param',
          {
            allow: 'POST',
          },
        );
      }
      tenant = this.tenants.resolve(req.headers);
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const outcome = await this.withDeadline((signal) =>
        this.ingest.accept({
          tenant,
          rawQuery,
          contentType: header(req, 'content-type'),
          contentEncoding: header(req, 'content-encoding'),
          body,
          signal,
        }),
      );
      format = outcome.format;
      spy = outcome.params.spyName;
      this.metrics.ingestRequests.inc({ format, spy, tenant, status: '200' });
      this.record(req, agentKeyOfUpload(tenant, outcome.params, outcome.format), {
        ok: true,
        format,
        spy,
      });
      await reply.status(200).send();
    } catch (err) {
      const f =
        err instanceof HttpFailure
          ? err
          : new HttpFailure(500, `internal error: ${(err as Error).message}`, 'unknown');
      this.metrics.ingestRequests.inc({ format, spy, tenant, status: String(f.status) });
      if (f.status < 500 || f.status === 503)
        this.metrics.discarded.inc({ reason: f.reason, tenant });
      if (f.upload)
        this.record(req, agentKeyOfUpload(tenant, f.upload.params, f.upload.format), {
          ok: false,
          message: f.message,
        });
      this.log.warn(
        JSON.stringify({
          msg: 'upload rejected',
          status: f.status,
          reason: f.reason,
          tenant,
          error: f.message,
          query: rawQuery.slice(0, 512),
        }),
      );
      await reply
        .status(f.status)
        .headers(f.headers)
        .type('application/json')
        .send(errorBody(f.status, f.message, f.code));
    }
  }

  /**
   * The Push API (Connect, unary): what the current Rust, Python, Ruby and .NET agents and
   * Alloy's pyroscope.write send, over HTTP/1.1 Connect. gRPC (HTTP/2) Push is served on
   * EMBER_GRPC_PORT by IngestGrpcRoutes, through the same IngestService.acceptPush.
   */
  @All('push.v1.PusherService/Push')
  async push(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    let tenant = 'unknown';
    try {
      if (req.method !== 'POST') {
        throw new HttpFailure(
          405,
          `method ${req.method} not allowed: the Push API takes POST`,
          'invalid_param',
          {
            allow: 'POST',
          },
        );
      }
      tenant = this.tenants.resolve(req.headers);
      const contentType = header(req, 'content-type');
      await this.withDeadline((signal) =>
        this.ingest.acceptPush({
          tenant,
          contentType,
          contentEncoding: header(req, 'content-encoding'),
          connectProtocolVersion: header(req, 'connect-protocol-version'),
          body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
          signal,
        }),
      );
      this.metrics.ingestRequests.inc({ format: 'push', spy: 'push', tenant, status: '200' });
      // An empty PushResponse in the request's codec.
      if (contentType.startsWith('application/json'))
        await reply.status(200).type('application/json').send('{}');
      else await reply.status(200).type('application/proto').send(Buffer.alloc(0));
    } catch (err) {
      const f =
        err instanceof HttpFailure
          ? err
          : new HttpFailure(500, `internal error: ${(err as Error).message}`, 'unknown');
      this.metrics.ingestRequests.inc({
        format: 'push',
        spy: 'push',
        tenant,
        status: String(f.status),
      });
      if (f.status < 500 || f.status === 503)
        this.metrics.discarded.inc({ reason: f.reason, tenant });
      this.log.warn(
        JSON.stringify({
          msg: 'push rejected',
          status: f.status,
          reason: f.reason,
          tenant,
          error: f.message,
        }),
      );
      if (f.status === 415 && f.code !== 'unimplemented') {
        // connect-go answers an unknown codec with an empty body and the codecs it accepts
        await reply.status(415).header('accept-post', PUSH_ACCEPT_POST).send();
        return;
      }
      await reply
        .status(f.status)
        .headers(f.headers)
        .type('application/json')
        .send(errorBody(f.status, f.message, f.code));
    }
  }
}

function header(req: FastifyRequest, name: string): string {
  const v = req.headers[name];
  return (Array.isArray(v) ? v[0] : v) ?? '';
}
