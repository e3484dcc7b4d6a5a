import {
  Metadata,
  ResponderBuilder,
  Server,
  ServerCredentials,
  ServerInterceptingCall,
  ServerListenerBuilder,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  type ServerMethodDefinition,
  type ServerUnaryCall,
  type ServiceDefinition,
  type UntypedServiceImplementation,
  type sendUnaryData,
} from '@grpc/grpc-js';
import { Metrics } from '../../observability/index.js';
import type { EmberConfig } from '../../runtime/config.js';
import { HttpFailure } from '../core/http-error.js';
import type { AdmissionControl, AdmissionLane, Ticket } from '../http/admission.js';
import { CHUNKED_RESERVATION } from '../http/http-edge.js';
import { TenantResolver } from '../tenancy/tenant-resolver.js';
import { type GrpcRoutes, type GrpcUnaryRoute, grpcPath } from './grpc-routes.js';
import { toServiceError, toStatus } from './grpc-status.js';

// The gRPC edge: a cleartext HTTP/2 server (@grpc/grpc-js, ADR 0014) beside the HTTP port,
// serving the routes modules registered in GrpcRoutes. Every call crosses the same checks as
// an HTTP upload, in the same order, and like HTTP they are decided on the request headers
// (gRPC metadata) before a byte of the message is read:
//   - a server interceptor sees the metadata first. grpc-js keeps the HTTP/2 stream paused until
//     the handler asks for the message, and the interceptor only passes the metadata on (which
//     is what makes the unary handler ask) once the call is admitted. So a call refused here
//     gets its status as a trailers-only response while its message is still unread; grpc-js
//     then drains the stream's DATA frames and drops them (never decoded, never buffered);
//   - a draining process answers UNAVAILABLE with retry-after;
//   - tenant and credentials from the X-Scope-OrgID / Authorization metadata (UNAUTHENTICATED);
//   - admission against the HTTP edge's AdmissionControl (shared: HTTP and gRPC uploads draw on
//     one budget, and see the same downstream-room and event-loop probes): RESOURCE_EXHAUSTED
//     (429) or UNAVAILABLE (503) with retry-after. gRPC has no Content-Length, so the call is
//     admitted with the reservation of a chunked HTTP body (256 KiB) and grows it to the
//     message's size when the message arrives (UNAVAILABLE budget_exhausted when it cannot, as
//     a chunked HTTP body that outgrows its room; a message larger than the whole budget gets
//     in when its call is alone, as a declared Content-Length does);
//   - the message must arrive within EMBER_HTTP_REQUEST_TIMEOUT of admission (DEADLINE_EXCEEDED),
//     so a caller that sends metadata and then nothing does not hold its reservation;
//   - the message size is bounded by EMBER_MAX_BODY_BYTES (grpc-js answers RESOURCE_EXHAUSTED
//     past it, after decompression too), concurrent streams per connection by
//     EMBER_INGEST_MAX_CONCURRENT;
//   - the route runs within EMBER_HTTP_HANDLER_TIMEOUT (UNAVAILABLE past it).
// The ticket is released exactly once, when the call's status is sent or the call is cancelled.
// Routes get bytes and return bytes (identity serialisers): decoding is theirs.

/** What the interceptor decided for an admitted call, handed to its handler with the metadata. */
interface Admitted {
  tenant: string;
}

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
  private readonly byPath = new Map<string, GrpcUnaryRoute>();
  /** keyed by the Metadata object the interceptor hands on, which the handler receives */
  private readonly admitted = new WeakMap<Metadata, Admitted>();

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
    const byService = this.routes.freeze();
    for (const routes of byService.values())
      for (const r of routes) this.byPath.set(grpcPath(r.service, r.method), r);
    const server = new Server({
      'grpc.max_receive_message_length': config.ingest.maxBodyBytes,
      'grpc.max_concurrent_streams': config.ingest.maxConcurrent,
      interceptors: [this.admit],
    });
    for (const [service, routes] of byService) {
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

  /**
   * The interceptor: decides on the metadata alone (draining, tenant and credentials, admission)
   * and only then lets the call read its message. A refusal is sent as the call's status; the
   * handler never runs.
   */
  private readonly admit: ServerInterceptor = (
    descriptor: ServerMethodDefinition<unknown, unknown>,
    next: ServerInterceptingCallInterface,
  ) => {
    const route = this.byPath.get(descriptor.path);
    if (!route) return new ServerInterceptingCall(next);
    const { metrics, config } = this.deps;
    let ticket: Ticket | undefined;
    let waitForMessage: NodeJS.Timeout | undefined;
    const gone = new AbortController();
    const finish = (): void => {
      clearTimeout(waitForMessage);
      ticket?.release(); // idempotent
    };
    const refuse = (err: unknown): void => {
      finish();
      intercepting.sendStatus(toStatus(err));
    };
    const listener = new ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, pass) => {
        this.decide(route, metadata, gone.signal).then(
          (decided) => {
            if (gone.signal.aborted) {
              decided.ticket?.release();
              return;
            }
            ticket = decided.ticket;
            this.admitted.set(metadata, { tenant: decided.tenant });
            const ms = config.http.requestTimeoutMs;
            if (ticket && ms > 0) {
              waitForMessage = setTimeout(() => {
                metrics.httpTimeouts.inc({ phase: 'body' });
                refuse(
                  new HttpFailure(
                    408,
                    `the message did not arrive within ${ms} ms of the call's metadata (EMBER_HTTP_REQUEST_TIMEOUT)`,
                    'slow_body',
                  ),
                );
              }, ms);
              waitForMessage.unref();
            }
            pass(metadata);
          },
          (err: unknown) => refuse(err),
        );
      })
      .withOnReceiveMessage((message: Buffer, pass) => {
        clearTimeout(waitForMessage);
        const more = message.length - (ticket?.bytes ?? message.length);
        if (ticket && more > 0 && !ticket.grow(more, true)) {
          metrics.shedRequests.inc({ reason: 'budget_exhausted', status: '503' });
          refuse(
            new HttpFailure(
              503,
              `the ingest budget is in use (EMBER_INGEST_INFLIGHT_BYTES): a ${message.length}-byte message outgrew the ${ticket.bytes} bytes its call was admitted with; retry later`,
              'budget_exhausted',
              { 'retry-after': '5' },
            ),
          );
          return;
        }
        pass(message);
      })
      .withOnCancel(() => {
        gone.abort();
        finish();
      })
      .build();
    const responder = new ResponderBuilder()
      .withStart((start) => start(listener))
      .withSendStatus((status, send) => {
        finish();
        send(status);
      })
      .build();
    const intercepting = new ServerInterceptingCall(next, responder);
    return intercepting;
  };

  /** The checks of an upload's headers, in the HTTP edge's order; throws HttpFailure to refuse. */
  private async decide(
    route: GrpcUnaryRoute,
    metadata: Metadata,
    signal: AbortSignal,
  ): Promise<{ tenant: string; ticket?: Ticket }> {
    const { metrics, admission, tenants } = this.deps;
    const upload = route.upload ?? true;
    if (upload && this.deps.draining()) {
      metrics.shedRequests.inc({ reason: 'shutting_down', status: '503' });
      throw new HttpFailure(
        503,
        'Emberflow is shutting down; retry in a few seconds',
        'shutting_down',
        { 'retry-after': '5' },
      );
    }
    let tenant: string;
    try {
      tenant = tenants.resolve(metadataRecord(metadata));
    } catch (err) {
      if (err instanceof HttpFailure)
        metrics.discarded.inc({ reason: err.reason, tenant: 'unknown' });
      throw err;
    }
    if (!upload) return { tenant };
    const reservation = Math.min(CHUNKED_RESERVATION, this.deps.config.ingest.maxBodyBytes);
    const verdict = await admission.acquire(tenant, reservation, signal, laneOf(route.service));
    if (!verdict.ok) {
      metrics.shedRequests.inc({ reason: verdict.reason, status: String(verdict.status) });
      throw new HttpFailure(verdict.status, verdict.message, verdict.reason, {
        'retry-after': String(verdict.retryAfterSeconds),
      });
    }
    return { tenant, ticket: verdict };
  }

  /** The handler of an admitted call: the route, within EMBER_HTTP_HANDLER_TIMEOUT. */
  private async serve(
    route: GrpcUnaryRoute,
    call: ServerUnaryCall<Buffer, Buffer>,
  ): Promise<Buffer> {
    const { metrics, config } = this.deps;
    const admitted = this.admitted.get(call.metadata);
    if (!admitted) throw new Error(`gRPC call ${call.getPath()} reached its handler unadmitted`);
    const { tenant } = admitted;
    const metadata = metadataRecord(call.metadata);
    const body = Buffer.isBuffer(call.request) ? call.request : Buffer.alloc(0);
    const gone = new AbortController();
    const onCancel = (): void => gone.abort();
    call.once('cancelled', onCancel);
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
    }
  }
}

function metadataRecord(metadata: Metadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata.getMap())) {
    if (typeof v === 'string') out[k.toLowerCase()] = v;
  }
  return out;
}

const OTLP_SIGNAL_SERVICE = /^opentelemetry\.proto\.collector\.(?:trace|metrics|logs)\./;

/** OTLP traces, metrics and logs feed their own topics: the profile pipeline's backlog does not hold them. */
function laneOf(service: string): AdmissionLane {
  return OTLP_SIGNAL_SERVICE.test(service) ? 'otlp' : 'profiles';
}
