import { All, Controller, Logger, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Metrics } from '../../observability/index.js';
import { otlpContentType, otlpStatusBody, type OtlpCodec } from '../../protocol/index.js';
import { HttpFailure } from '../core/http-error.js';
import { grpcCodeOf } from '../grpc/grpc-status.js';
import { TenantResolver } from '../tenancy/tenant-resolver.js';
import { IngestService } from './ingest.service.js';

// OTLP/HTTP profiles: `POST /v1development/profiles` (the Java agent with PYROSCOPE_FORMAT=otlp,
// the OTel eBPF profiler, the collector's otlphttp exporter). Answers as the OTLP/HTTP
// specification says: 200 with an empty ExportProfilesServiceResponse in the request's
// encoding; errors with a google.rpc.Status body in that encoding (protobuf unless the request
// was JSON), 400 bad input, 413 too large, 415 unknown content type or encoding, 429/503 with
// Retry-After. Limits and admission before the body are the HTTP edge's (http-edge.ts).

@Controller()
export class OtlpProfilesController {
  private readonly log = new Logger('Ingest');

  constructor(
    private readonly ingest: IngestService,
    private readonly tenants: TenantResolver,
    private readonly metrics: Metrics,
  ) {}

  @All('v1development/profiles')
  async export(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const contentType = header(req, 'content-type');
    const codec: OtlpCodec = /json/i.test(contentType) ? 'json' : 'proto';
    let tenant = 'unknown';
    try {
      if (req.method !== 'POST')
        throw new HttpFailure(
          405,
          `method ${req.method} not allowed: send OTLP with POST`,
          'invalid_param',
          {
            allow: 'POST',
          },
        );
      tenant = this.tenants.resolve(req.headers);
      await this.ingest.acceptOtlpProfiles({
        tenant,
        contentType,
        contentEncoding: header(req, 'content-encoding'),
        body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
      });
      this.metrics.ingestRequests.inc({ format: 'otlp', spy: 'otlp', tenant, status: '200' });
      await reply
        .status(200)
        .type(otlpContentType(codec))
        .send(codec === 'json' ? '{}' : Buffer.alloc(0));
    } catch (err) {
      const f =
        err instanceof HttpFailure
          ? err
          : new HttpFailure(500, `internal error: ${(err as Error).message}`, 'unknown');
      this.metrics.ingestRequests.inc({
        format: 'otlp',
        spy: 'otlp',
        tenant,
        status: String(f.status),
      });
      if (f.status < 500 || f.status === 503)
        this.metrics.discarded.inc({ reason: f.reason, tenant });
      this.log.warn(
        JSON.stringify({
          msg: 'otlp profiles rejected',
          status: f.status,
          reason: f.reason,
          tenant,
          error: f.message,
        }),
      );
      const body = otlpStatusBody(codec, grpcCodeOf(f.status, f.code), f.message);
      await reply
        .status(f.status)
        .headers(f.headers)
        .type(otlpContentType(codec))
        .send(typeof body === 'string' ? body : Buffer.from(body));
    }
  }
}

function header(req: FastifyRequest, name: string): string {
  const v = req.headers[name];
  return (Array.isArray(v) ? v[0] : v) ?? '';
}
