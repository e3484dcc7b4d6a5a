import { All, Controller, Inject, Logger, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Metrics } from '../../observability/index.js';
import { otlpSuccessBody, type OtlpSignal } from '../../protocol/index.js';
import type { EmberConfig } from '../../runtime/config.js';
import { HttpFailure } from '../core/http-error.js';
import { EMBER_CONFIG } from '../core/tokens.js';
import { TenantResolver } from '../tenancy/tenant-resolver.js';
import { OtlpIngestService } from './otlp-ingest.service.js';
import { sendOtlpError } from './otlp-reply.js';

// OTLP/HTTP export endpoints: the standard /v1/{traces,metrics,logs} and Datakit's
// /otel/v1/{traces,metrics,logs} (what its documented examples send to port 9529). POST only
// (405 otherwise). Success is 200 with an empty Export*ServiceResponse in the request's encoding;
// failures are a google.rpc.Status with the OTLP/HTTP status (400, 401, 404, 413, 415, 429, 503
// with Retry-After). Tenancy and credentials are those of uploads.

@Controller()
export class OtlpIngestController {
  private readonly log = new Logger('OtlpIngest');

  constructor(
    private readonly otlp: OtlpIngestService,
    private readonly tenants: TenantResolver,
    private readonly metrics: Metrics,
    @Inject(EMBER_CONFIG) private readonly config: EmberConfig,
  ) {}

  @All(['v1/traces', 'otel/v1/traces'])
  traces(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.handle('traces', req, reply);
  }

  @All(['v1/metrics', 'otel/v1/metrics'])
  metricsExport(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.handle('metrics', req, reply);
  }

  @All(['v1/logs', 'otel/v1/logs'])
  logs(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.handle('logs', req, reply);
  }

  private async handle(
    signal: OtlpSignal,
    req: FastifyRequest,
    reply: FastifyReply,
  ): Promise<void> {
    const contentType = header(req, 'content-type');
    let tenant = 'unknown';
    const format = `otlp_${signal}`;
    try {
      if (req.method !== 'POST') {
        throw new HttpFailure(
          405,
          `method ${req.method} not allowed: OTLP/HTTP exports are POSTed`,
          'invalid_param',
          { allow: 'POST' },
        );
      }
      tenant = this.tenants.resolve(req.headers);
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const outcome = await this.withDeadline((abort) =>
        this.otlp.accept({
          signal,
          tenant,
          contentType,
          contentEncoding: header(req, 'content-encoding'),
          body,
          abort,
        }),
      );
      this.metrics.ingestRequests.inc({ format, spy: 'otlp', tenant, status: '200' });
      const ok = otlpSuccessBody(outcome.encoding);
      await reply
        .status(200)
        .type(outcome.encoding === 'protobuf' ? 'application/x-protobuf' : 'application/json')
        .send(typeof ok === 'string' ? ok : Buffer.from(ok));
    } catch (err) {
      const f =
        err instanceof HttpFailure
          ? err
          : new HttpFailure(500, `internal error: ${(err as Error).message}`, 'unknown');
      this.metrics.ingestRequests.inc({ format, spy: 'otlp', tenant, status: String(f.status) });
      if (f.status < 500 || f.status === 503)
        this.metrics.discarded.inc({ reason: f.reason, tenant });
      this.log.warn(
        JSON.stringify({
          msg: 'OTLP export rejected',
          signal,
          status: f.status,
          reason: f.reason,
          tenant,
          error: f.message,
        }),
      );
      await sendOtlpError(reply, contentType, f.status, f.message, f.headers);
    }
  }

  /** As uploads: handled within EMBER_HTTP_HANDLER_TIMEOUT of the body's arrival, else 503. */
  private async withDeadline<T>(run: (abort: AbortSignal) => Promise<T>): Promise<T> {
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
            `the export was not handled within ${ms} ms (EMBER_HTTP_HANDLER_TIMEOUT): the queue or shared state is slow; retry later`,
            'handler_timeout',
            { 'retry-after': '5' },
          ),
        );
      }, ms);
    });
    const work = run(ac.signal);
    work.catch(() => {});
    try {
      return await Promise.race([work, expired]);
    } finally {
      clearTimeout(timer);
    }
  }
}

function header(req: FastifyRequest, name: string): string {
  const v = req.headers[name];
  return (Array.isArray(v) ? v[0] : v) ?? '';
}
