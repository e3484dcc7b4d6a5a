import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage, ServerOptions } from 'node:http';
import { Metrics } from '../../observability/index.js';
import type { EmberConfig } from '../../runtime/config.js';
import { HttpFailure, errorBody } from '../core/http-error.js';
import { TenantResolver } from '../tenancy/tenant-resolver.js';
import { AdmissionControl, type Shed, type Ticket } from './admission.js';
import { BodyReadError, readBody } from './body-reader.js';
import { EventLoopMonitor } from './event-loop-monitor.js';
import { isOtlpPath, sendOtlpError } from '../otlp/otlp-reply.js';

// The HTTP edge every request crosses before a controller sees it, installed on the Fastify
// instance by bootstrap (before routes are registered):
//   - headers: Node's headersTimeout answers 408 and closes when the request line and headers
//     take longer than EMBER_HTTP_HEADERS_TIMEOUT; requestTimeout bounds the whole request
//     (EMBER_HTTP_REQUEST_TIMEOUT); both are checked every second;
//   - admission (onRequest, body not read yet): uploads, i.e. every request with a body except
//     the query API, are authenticated (401 before the body is read) and admitted against the
//     in-flight budget (admission.ts): shed with 429 or 503 and Retry-After, or let in;
//   - body: read by body-reader.ts within EMBER_MAX_BODY_BYTES (413, before reading when the
//     Content-Length says so) and EMBER_HTTP_BODY_MIN_RATE (408 and the connection closed);
//   - the ticket is released when the response is finished or the connection drops.
// A request shed before its body is read is answered at once; Node then reads and discards the
// rest of the body so the keep-alive connection stays usable (no reset for the sender).

/** Routes whose requests are not uploads: queries have their own limits (query executor). */
const NOT_UPLOADS = ['/querier.v1.QuerierService/'];

/** Initial reservation for a body sent without Content-Length (chunked); it grows as it comes. */
export const CHUNKED_RESERVATION = 256 * 1024;

/** How long a body may take before the minimum rate applies (small bodies always have this). */
export const BODY_GRACE_MS = 5_000;

export interface HttpEdgeDeps {
  config: EmberConfig;
  metrics: Metrics;
  admission: AdmissionControl;
  tenants: TenantResolver;
  /** true once the process is stopping: uploads are refused before their body is read */
  draining?: () => boolean;
}

/** Node http.Server options for the timeouts (FastifyAdapter's `http` option). */
export function httpServerOptions(config: EmberConfig): ServerOptions {
  return {
    headersTimeout: config.http.headersTimeoutMs,
    requestTimeout: config.http.requestTimeoutMs,
    // how often Node checks the two timeouts above (default 30 s: a slow client would get
    // up to 30 s more than configured)
    connectionsCheckingInterval: 1_000,
  };
}

const tickets = new WeakMap<IncomingMessage, Ticket>();

function declaredLength(req: IncomingMessage): number | undefined {
  const raw = req.headers['content-length'];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

function hasBody(req: IncomingMessage): boolean {
  const n = declaredLength(req);
  return (n !== undefined && n > 0) || req.headers['transfer-encoding'] !== undefined;
}

function isUpload(url: string): boolean {
  return !NOT_UPLOADS.some((p) => url.startsWith(p));
}

async function answer(
  reply: FastifyReply,
  status: number,
  message: string,
  headers: Record<string, string> = {},
  code?: string,
): Promise<void> {
  const req = reply.request;
  if (req && isOtlpPath(req.url)) {
    // OTLP exporters read a google.rpc.Status in their own encoding
    const ct = req.headers['content-type'];
    await sendOtlpError(reply, (Array.isArray(ct) ? ct[0] : ct) ?? '', status, message, headers);
    return;
  }
  await reply
    .status(status)
    .headers(headers)
    .type('application/json')
    .send(errorBody(status, message, code));
}

export function installHttpEdge(fastify: FastifyInstance, deps: HttpEdgeDeps): void {
  const { config, metrics, admission, tenants } = deps;
  const maxBody = config.ingest.maxBodyBytes;

  fastify.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const raw = request.raw;
    if (!hasBody(raw)) return;
    const declared = declaredLength(raw);
    if (declared !== undefined && declared > maxBody) {
      metrics.discarded.inc({ reason: 'body_size_limit', tenant: 'unknown' });
      await answer(
        reply,
        413,
        `request body too large: ${declared} bytes, the limit is ${maxBody} bytes (EMBER_MAX_BODY_BYTES)`,
      );
      return reply;
    }
    if (!isUpload(request.url)) return;
    if (deps.draining?.()) {
      metrics.shedRequests.inc({ reason: 'shutting_down', status: '503' });
      await answer(reply, 503, 'Emberflow is shutting down; retry in a few seconds', {
        'retry-after': '5',
      });
      return reply;
    }
    let tenant: string;
    try {
      tenant = tenants.resolve(request.headers);
    } catch (err) {
      if (!(err instanceof HttpFailure)) throw err;
      metrics.discarded.inc({ reason: err.reason, tenant: 'unknown' });
      await answer(reply, err.status, err.message, err.headers, err.code);
      return reply;
    }
    const gone = new AbortController();
    const onClose = (): void => gone.abort();
    raw.socket?.once('close', onClose);
    const verdict: Ticket | Shed = await admission.acquire(
      tenant,
      declared ?? CHUNKED_RESERVATION,
      gone.signal,
      isOtlpPath(request.url) ? 'otlp' : 'profiles',
    );
    raw.socket?.off('close', onClose);
    if (!verdict.ok) {
      metrics.shedRequests.inc({ reason: verdict.reason, status: String(verdict.status) });
      metrics.ingestRequests.inc({
        format: 'unknown',
        spy: 'unknown',
        tenant,
        status: String(verdict.status),
      });
      if (gone.signal.aborted) return reply;
      await answer(reply, verdict.status, verdict.message, {
        'retry-after': String(verdict.retryAfterSeconds),
      });
      return reply;
    }
    if (gone.signal.aborted) {
      verdict.release();
      return reply;
    }
    tickets.set(raw, verdict);
    reply.raw.once('close', () => verdict.release());
  });

  // Every body arrives as raw bytes (ingest publishes it untouched, whatever it claims to be).
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', (request, payload, done) => {
    const raw = request.raw;
    readBody(
      payload,
      declaredLength(raw),
      {
        maxBytes: maxBody,
        minBytesPerSecond: config.http.bodyMinBytesPerSecond,
        graceMs: BODY_GRACE_MS,
      },
      tickets.get(raw),
    ).then(
      (body) => done(null, body),
      (err: unknown) => {
        if (!(err instanceof BodyReadError)) {
          done(err as Error, undefined);
          return;
        }
        if (err.reason === 'slow_body') metrics.httpTimeouts.inc({ phase: 'body' });
        if (err.status === 413)
          metrics.discarded.inc({ reason: 'body_size_limit', tenant: 'unknown' });
        // A body that stopped midway leaves the connection in an unknown state: close it.
        const e = Object.assign(new Error(err.message), {
          statusCode: err.status,
          headers: { connection: 'close', ...(err.status === 503 ? { 'retry-after': '5' } : {}) },
        });
        done(e, undefined);
      },
    );
  });
}

/** The admission control of a process, from its config and the probes bootstrap provides. */
export function admissionFor(
  config: EmberConfig,
  probes: {
    downstreamRoom?: () => number;
    backlogSeconds?: () => number;
    admittedProfile?: () => void;
  },
): { admission: AdmissionControl; monitor: EventLoopMonitor } {
  const monitor = new EventLoopMonitor();
  const admission = new AdmissionControl(
    {
      maxInflightBytes: config.ingest.inflightBytes,
      maxConcurrent: config.ingest.maxConcurrent,
      maxWaitMs: config.ingest.admissionWaitMs,
      // a burst of hundreds of agents waits (ADR 0011); a waiter costs a socket, not its body
      maxWaiting: Math.max(512, config.ingest.maxConcurrent * 4),
      maxBacklogMs: config.ingest.maxBacklogMs,
      maxBacklogWaitMs: config.ingest.backlogWaitMs,
    },
    {
      downstreamRoom: probes.downstreamRoom,
      backlogSeconds: probes.backlogSeconds,
      admittedProfile: probes.admittedProfile,
      overloaded:
        config.ingest.maxEventLoopDelayMs > 0
          ? () => monitor.delayMs() > config.ingest.maxEventLoopDelayMs
          : undefined,
    },
  );
  return { admission, monitor };
}
