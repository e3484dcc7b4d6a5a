import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { Metrics } from '../../observability/index.js';
import { HttpFailure } from '../core/http-error.js';
import { GrpcRoutes } from '../grpc/grpc-routes.js';
import { IngestService } from './ingest.service.js';

// OTLP/gRPC profiles: `opentelemetry.proto.collector.profiles.v1development.ProfilesService/
// Export`, through the same IngestService.acceptOtlpProfiles as the HTTP route (validated,
// rate-limited, deduplicated, answered once queued). The response is an empty
// ExportProfilesServiceResponse.

@Injectable()
export class OtlpProfilesGrpcRoute implements OnModuleInit {
  private readonly log = new Logger('Ingest');

  constructor(
    private readonly routes: GrpcRoutes,
    private readonly ingest: IngestService,
    private readonly metrics: Metrics,
  ) {}

  onModuleInit(): void {
    this.routes.unary({
      service: 'opentelemetry.proto.collector.profiles.v1development.ProfilesService',
      method: 'Export',
      handle: async ({ tenant, body, signal }) => {
        try {
          await this.ingest.acceptOtlpProfiles({
            tenant,
            contentType: 'application/x-protobuf',
            contentEncoding: '',
            body,
            signal,
          });
        } catch (err) {
          const status = err instanceof HttpFailure ? err.status : 500;
          this.metrics.ingestRequests.inc({
            format: 'otlp',
            spy: 'otlp',
            tenant,
            status: String(status),
          });
          if (err instanceof HttpFailure && (status < 500 || status === 503))
            this.metrics.discarded.inc({ reason: err.reason, tenant });
          this.log.warn(
            JSON.stringify({
              msg: 'otlp profiles rejected',
              transport: 'grpc',
              status,
              reason: err instanceof HttpFailure ? err.reason : 'unknown',
              tenant,
              error: (err as Error).message,
            }),
          );
          throw err;
        }
        this.metrics.ingestRequests.inc({ format: 'otlp', spy: 'otlp', tenant, status: '200' });
        return new Uint8Array(0);
      },
    });
  }
}
