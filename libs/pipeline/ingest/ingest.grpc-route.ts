import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { Metrics } from '../../observability/index.js';
import { GrpcRoutes } from '../grpc/grpc-routes.js';
import { IngestService } from './ingest.service.js';

// The profile uploads of the gRPC edge, each handed to the same IngestService method as its HTTP
// route (validated, rate-limited, deduplicated, answered only once queued), through the one
// upload route factory (GrpcRoutes.upload: metrics, discard counts, rejection log, empty
// response). grpc-js has already undone grpc-encoding, so every body is binary protobuf:
//   - `push.v1.PusherService/Push` (Alloy's pyroscope.write, the SDKs over HTTP/2): a PushRequest,
//     as the Connect route's acceptPush; the response is an empty PushResponse;
//   - `opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export` (the OTel
//     eBPF profiler, the collector): as POST /v1development/profiles; the response is an empty
//     ExportProfilesServiceResponse.

@Injectable()
export class IngestGrpcRoutes implements OnModuleInit {
  private readonly log = new Logger('Ingest');

  constructor(
    private readonly routes: GrpcRoutes,
    private readonly ingest: IngestService,
    private readonly metrics: Metrics,
  ) {}

  onModuleInit(): void {
    const sink = { metrics: this.metrics, log: this.log };
    this.routes.upload(
      {
        service: 'push.v1.PusherService',
        method: 'Push',
        format: 'push',
        spy: 'push',
        rejected: 'push rejected',
        accept: ({ tenant, body, signal }) =>
          this.ingest.acceptPush({
            tenant,
            contentType: 'application/proto',
            contentEncoding: '',
            connectProtocolVersion: '',
            body,
            signal,
          }),
      },
      sink,
    );
    this.routes.upload(
      {
        service: 'opentelemetry.proto.collector.profiles.v1development.ProfilesService',
        method: 'Export',
        format: 'otlp',
        spy: 'otlp',
        rejected: 'otlp profiles rejected',
        accept: ({ tenant, body, signal }) =>
          this.ingest.acceptOtlpProfiles({
            tenant,
            contentType: 'application/x-protobuf',
            contentEncoding: '',
            body,
            signal,
          }),
      },
      sink,
    );
  }
}
