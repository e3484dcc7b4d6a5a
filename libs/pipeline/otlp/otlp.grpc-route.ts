import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { Metrics } from '../../observability/index.js';
import type { OtlpSignal } from '../../protocol/index.js';
import { GrpcRoutes } from '../grpc/grpc-routes.js';
import { OtlpIngestService } from './otlp-ingest.service.js';

// OTLP/gRPC: TraceService, MetricsService and LogsService `Export` on the gRPC edge (the port
// the Python example's OTLPSpanExporter sends to). The request is the binary Export request
// (grpc-js has undone grpc-encoding: gzip), handed to the same OtlpIngestService as OTLP/HTTP:
// decoded, deduplicated, rate-limited and answered only once queued. The response is an empty
// Export*ServiceResponse; failures are HttpFailures the edge maps to gRPC statuses.

const SERVICES: Record<OtlpSignal, string> = {
  traces: 'opentelemetry.proto.collector.trace.v1.TraceService',
  metrics: 'opentelemetry.proto.collector.metrics.v1.MetricsService',
  logs: 'opentelemetry.proto.collector.logs.v1.LogsService',
};

@Injectable()
export class OtlpGrpcRoutes implements OnModuleInit {
  private readonly log = new Logger('OtlpIngest');

  constructor(
    private readonly routes: GrpcRoutes,
    private readonly otlp: OtlpIngestService,
    private readonly metrics: Metrics,
  ) {}

  onModuleInit(): void {
    for (const signal of Object.keys(SERVICES) as OtlpSignal[])
      this.routes.upload(
        {
          service: SERVICES[signal],
          method: 'Export',
          format: `otlp_${signal}`,
          spy: 'otlp',
          rejected: 'OTLP export rejected',
          logFields: { signal },
          accept: ({ tenant, body, signal: abort }) =>
            this.otlp.accept({
              signal,
              tenant,
              contentType: 'application/x-protobuf',
              contentEncoding: '',
              body,
              abort,
            }),
        },
        { metrics: this.metrics, log: this.log },
      );
  }
}
