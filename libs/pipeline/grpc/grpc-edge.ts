import {
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServiceDefinition,
  type UntypedServiceImplementation,
  type sendUnaryData,
} from '@grpc/grpc-js';
import { Metrics } from '../../observability/index.js';
import type { EmberConfig } from '../../runtime/config.js';
import { HttpFailure } from '../core/http-error.js';
import type { AdmissionControl } from '../http/admission.js';
import { TenantResolver } from '../tenancy/tenant-resolver.js';
import { type GrpcRoutes, type GrpcUnaryRoute, grpcPath } from './grpc-routes.js';
import { toServiceError } from './grpc-status.js';

// The gRPC edge: a cleartext HTTP/2 server (@grpc/grpc-js, ADR 0014) beside the HTTP port,
// serving the routes modules registered in GrpcRoutes. Every call crosses the same checks as
// an HTTP upload, in the same order as far as gRPC allows:
//   - the message size is bounded by EMBER_MAX_BODY_BYTES (grpc-js answers RESOURCE_EXHAUSTED
//     past it, after decompression too) and concurrent calls per connection by
//     EMBER_INGEST_MAX_CONCURRENT;
//   - a draining process answers UNAVAILABLE with retry-after;
//   - tenant and credentials from the X-Scope-OrgID / Authorization metadata (UNAUTHENTICATED);
//   - admission of the message's bytes against the HTTP edge's AdmissionControl (shared, so
//     HTTP and gRPC uploads draw on one budget): RESOURCE_EXHAUSTED (429) or UNAVAILABLE (503)
//     with retry-after. grpc-js hands a handler the whole message, so unlike HTTP the bytes are
//     admitted once received; memory held meanwhile is bounded by the two limits above;
//   - the route runs within EMBER_HTTP_HANDLER_TIMEOUT (UNAVAILABLE past it).
// Routes get bytes and return bytes (identity serialisers): decoding is theirs.

export interface GrpcEdgeDeps {
  config: EmberConfig;
  metrics: Metrics;
  admission: AdmissionControl;
  tenants: TenantResolver;
  draining: () => boolean;
}

const identity = (b: Buffer): Buffer => b;

export class GrpcEdge {
  private server: Server | undefined;
  private boundPort = 0;

  constructor(
    private readonly routes: GrpcRoutes,
    private readonly deps: GrpcEdgeDeps,
  ) {}

  /** the port bound (after listen), 0 before */
  get port(): number {
    return this.boundPort;
  }

  /** Binds host:port (0 = any free port) and serves every registered route. */
  async listen(host: string, port: number): Promise<number> {
    const { config } = this.deps;
    const server = new Server({
      'grpc.max_receive_message_length': config.ingest.maxBodyBytes,
      'grpc.max_concurrent_streams': config.ingest.maxConcurrent,
    });
    for (const [service, routes] of this.routes.freeze()) {
      const definition: Record<string, ServiceDefinition[string]> = {};
      const implementation: UntypedServiceImplementation = {};
      for (const route of routes) {
        definition[route.method] = {
          path: grpcPath(service, route.method),
          requestStream: false,
          responseStream: false,
          requestSerialize: identity,
          requestDeserialize: identity,
          responseSerialize: identity,
          responseDeserialize: identity,
        };
        implementation[route.method] = (
          call: ServerUnaryCall<Buffer, Buffer>,
          callback: sendUnaryData<Buffer>,
        ) => {
          this.serve(route, call).then(
            (response) => callback(null, response),
            (err: unknown) => callback(toServiceError(err), null),
          );
        };
      }
      server.addService(definition, implementation);
    }
    this.boundPort = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${host}:${port}`, ServerCredentials.createInsecure(), (err, bound) =>
        err ? reject(err) : resolve(bound),
      ),
    );
    this.server = server;
    return this.boundPort;
  }

  /** Stops taking calls; calls in flight get `graceMs` to finish, then are cancelled. */
  async close(graceMs = 5_000): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      const cut = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, graceMs);
      cut.unref();
      server.tryShutdown(() => {
        clearTimeout(cut);
        resolve();
      });
    });
  }

  private async serve(
    route: GrpcUnaryRoute,
    call: ServerUnaryCall<Buffer, Buffer>,
  ): Promise<Buffer> {
    const { metrics, admission, tenants, config } = this.deps;
    const upload = route.upload ?? true;
    const metadata = metadataRecord(call);
    if (upload && this.deps.draining()) {
      metrics.shedRequests.inc({ reason: 'shutting_down', status: '503' });
      throw new HttpFailure(
        503,
        'Emberflow is shutting down; retry in a few seconds',
        'shutting_down',
        {
          'retry-after': '5',
        },
      );
    }
    let tenant: string;
    try {
      tenant = tenants.resolve(metadata);
    } catch (err) {
      if (err instanceof HttpFailure)
        metrics.discarded.inc({ reason: err.reason, tenant: 'unknown' });
      throw err;
    }
    const body = Buffer.isBuffer(call.request) ? call.request : Buffer.alloc(0);
    const gone = new AbortController();
    const onCancel = (): void => gone.abort();
    call.once('cancelled', onCancel);
    let release = (): void => {};
    if (upload) {
      const verdict = await admission.acquire(tenant, body.length, gone.signal);
      if (!verdict.ok) {
        call.off('cancelled', onCancel);
        metrics.shedRequests.inc({ reason: verdict.reason, status: String(verdict.status) });
        throw new HttpFailure(verdict.status, verdict.message, verdict.reason, {
          'retry-after': String(verdict.retryAfterSeconds),
        });
      }
      release = () => verdict.release();
    }
    const ms = config.http.handlerTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        gone.abort();
        metrics.httpTimeouts.inc({ phase: 'handler' });
        reject(
          new HttpFailure(
            503,
            `the call was not handled within ${ms} ms (EMBER_HTTP_HANDLER_TIMEOUT): the queue or shared state is slow; retry later`,
            'handler_timeout',
            { 'retry-after': '5' },
          ),
        );
      }, ms);
    });
    const work = route.handle({ tenant, body, metadata, signal: gone.signal });
    work.catch(() => {}); // settles after the deadline when it expired: nobody waits for it then
    try {
      return Buffer.from(await Promise.race([work, expired]));
    } finally {
      clearTimeout(timer);
      call.off('cancelled', onCancel);
      release();
    }
  }
}

function metadataRecord(call: ServerUnaryCall<Buffer, Buffer>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(call.metadata.getMap())) {
    if (typeof v === 'string') out[k.toLowerCase()] = v;
  }
  return out;
}
