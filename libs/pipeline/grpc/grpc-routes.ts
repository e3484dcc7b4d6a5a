import { Injectable, type LoggerService } from '@nestjs/common';
import type { Metrics } from '../../observability/index.js';
import { HttpFailure } from '../core/http-error.js';

// The registration API of the gRPC edge: a module that serves a gRPC method adds a unary route
// here when it starts (OnModuleInit); bootstrap starts the gRPC server after Nest is
// initialised, with every route registered by then. A route sees bytes, not messages: the edge
// does not decode requests, so each route decodes its own (the Push route hands the PushRequest
// bytes to the same ingest path as HTTP; OTLP routes decode their generated types).
//
// Before a route runs, the edge has, on the call's metadata and before its message was read,
// refused the call while the process drains, resolved the tenant (X-Scope-OrgID metadata),
// checked credentials (Authorization metadata) and admitted the call against the same admission
// control as HTTP uploads (grown to the message's size once it arrived); the route runs
// within EMBER_HTTP_HANDLER_TIMEOUT. A route reports failure by throwing HttpFailure (the same
// errors the HTTP controllers throw); the edge maps it to a gRPC status.

export interface GrpcUnaryCall {
  /** the resolved tenant */
  tenant: string;
  /** the request message as received (grpc-js has already undone a grpc-encoding: gzip) */
  body: Buffer;
  /** request metadata, keys lower-case, first value of each (binary keys left out) */
  metadata: Record<string, string>;
  /** aborted when the handler timeout passes or the client cancels: give up claims, stop work */
  signal: AbortSignal;
}

export interface GrpcUnaryRoute {
  /** fully qualified service name, e.g. `push.v1.PusherService` */
  service: string;
  /** method name, e.g. `Push` */
  method: string;
  /**
   * true (the default) when the method carries an upload: it is admitted against the ingest
   * budget and refused while the process drains
   */
  upload?: boolean;
  /** Resolves to the response message's bytes; throws HttpFailure to answer an error status. */
  handle(call: GrpcUnaryCall): Promise<Uint8Array>;
}

/**
 * A unary method that carries an upload into an ingest path (Push, OTLP profiles, traces,
 * metrics, logs): what differs between them. The rest (counting the outcome, counting a
 * refusal as a discard, the rejection log line, the empty response message) is `upload`'s.
 */
export interface GrpcUploadRoute {
  service: string;
  method: string;
  /** `format` and `spy` labels of emberflow_ingest_requests_total */
  format: string;
  spy: string;
  /** the `msg` of the warning logged when the upload is refused */
  rejected: string;
  /** more fields for that warning (e.g. the OTLP signal) */
  logFields?: Record<string, unknown>;
  /** Hands the message to the ingest path; resolves once queued, throws HttpFailure to refuse. */
  accept(call: GrpcUnaryCall): Promise<unknown>;
}

/** Where an upload route reports: the process's metrics and its module's logger. */
export interface GrpcUploadSink {
  metrics: Metrics;
  log: Pick<LoggerService, 'warn'>;
}

@Injectable()
export class GrpcRoutes {
  private readonly byPath = new Map<string, GrpcUnaryRoute>();
  private frozen = false;

  /** Adds a unary route. Throws on a duplicate path or once the server has started. */
  unary(route: GrpcUnaryRoute): void {
    const path = grpcPath(route.service, route.method);
    if (this.frozen) throw new Error(`gRPC route ${path} registered after the server started`);
    if (this.byPath.has(path)) throw new Error(`gRPC route ${path} registered twice`);
    this.byPath.set(path, route);
  }

  /**
   * Adds an upload route: `accept`, then an empty response message (every Export*ServiceResponse
   * and PushResponse this serves is empty). Each outcome is counted in
   * emberflow_ingest_requests_total under the route's format; a refusal for bad input or overload
   * (4xx, 503) is also counted as a discard with its reason, and logged; the error then reaches
   * the edge, which maps it to a gRPC status.
   */
  upload(route: GrpcUploadRoute, sink: GrpcUploadSink): void {
    const { format, spy } = route;
    this.unary({
      service: route.service,
      method: route.method,
      handle: async (call) => {
        const { tenant } = call;
        try {
          await route.accept(call);
        } catch (err) {
          const status = err instanceof HttpFailure ? err.status : 500;
          sink.metrics.ingestRequests.inc({ format, spy, tenant, status: String(status) });
          if (err instanceof HttpFailure && (status < 500 || status === 503))
            sink.metrics.discarded.inc({ reason: err.reason, tenant });
          sink.log.warn(
            JSON.stringify({
              msg: route.rejected,
              transport: 'grpc',
              ...route.logFields,
              status,
              reason: err instanceof HttpFailure ? err.reason : 'unknown',
              tenant,
              error: (err as Error).message,
            }),
          );
          throw err;
        }
        sink.metrics.ingestRequests.inc({ format, spy, tenant, status: '200' });
        return new Uint8Array(0);
      },
    });
  }

  /** The routes by service, for the server; later registrations are refused. */
  freeze(): Map<string, GrpcUnaryRoute[]> {
    this.frozen = true;
    const out = new Map<string, GrpcUnaryRoute[]>();
    for (const r of this.byPath.values()) out.set(r.service, [...(out.get(r.service) ?? []), r]);
    return out;
  }

  get size(): number {
    return this.byPath.size;
  }
}

export function grpcPath(service: string, method: string): string {
  return `/${service}/${method}`;
}
