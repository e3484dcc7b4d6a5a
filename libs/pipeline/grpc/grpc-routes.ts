import { Injectable } from '@nestjs/common';

// The registration API of the gRPC edge: a module that serves a gRPC method adds a unary route
// here when it starts (OnModuleInit); bootstrap starts the gRPC server after Nest is
// initialised, with every route registered by then. A route sees bytes, not messages: the edge
// does not decode requests, so each route decodes its own (the Push route hands the PushRequest
// bytes to the same ingest path as HTTP; OTLP routes decode their generated types).
//
// Before a route runs, the edge has resolved the tenant (X-Scope-OrgID metadata), checked
// credentials (Authorization metadata), refused the call while the process drains and admitted
// the request's bytes against the same admission control as HTTP uploads; the route runs
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
