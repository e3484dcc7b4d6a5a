import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { Metrics } from '../../observability/index.js';
import { HttpFailure } from '../core/http-error.js';
import { GrpcRoutes } from '../grpc/grpc-routes.js';
import { IngestService } from './ingest.service.js';

// `push.v1.PusherService/Push` over gRPC (what Alloy's pyroscope.write and the SDKs can send
// over HTTP/2): the message is a binary PushRequest, handed to the same IngestService.acceptPush
// as the Connect route, so it is validated, rate-limited, deduplicated and answered only once
// queued exactly like the HTTP Push. The response is an empty PushResponse.

@Injectable()
export class PushGrpcRoute implements OnModuleInit {
  private readonly log = new Logger('Ingest');

  constructor(
    private readonly routes: GrpcRoutes,
    private readonly ingest: IngestService,
    private readonly metrics: Metrics,
  ) {}

  onModuleInit(): void {
    this.routes.unary({
      service: 'push.v1.PusherService',
      method: 'Push',
      handle: async ({ tenant, body, signal }) => {
        try {
          await this.ingest.acceptPush({
            tenant,
            // gRPC messages are binary protobuf; grpc-js has already undone grpc-encoding
            contentType: 'application/proto',
            contentEncoding: '',
            connectProtocolVersion: '',
            body,
            signal,
          });
        } catch (err) {
          const status = err instanceof HttpFailure ? err.status : 500;
          this.metrics.ingestRequests.inc({
            format: 'push',
            spy: 'push',
            tenant,
            status: String(status),
          });
          if (err instanceof HttpFailure && (status < 500 || status === 503))
            this.metrics.discarded.inc({ reason: err.reason, tenant });
          this.log.warn(
            JSON.stringify({
              msg: 'push rejected',
              transport: 'grpc',
              status,
              reason: err instanceof HttpFailure ? err.reason : 'unknown',
              tenant,
              error: (err as Error).message,
            }),
          );
          throw err;
        }
        this.metrics.ingestRequests.inc({ format: 'push', spy: 'push', tenant, status: '200' });
        return new Uint8Array(0);
      },
    });
  }
}
