import type { OtlpSignal } from '../../protocol/index.js';
import type { IncomingMessage, OutgoingMessage } from '../queue.port.js';
import { PermanentError } from '../../model/index.js';
import { TOPICS } from '../topics.js';

// otlp.{traces,metrics,logs}.v1: one accepted OTLP Export request. The value is the request as
// binary protobuf (Export{Trace,Metrics,Logs}ServiceRequest), whatever encoding the client sent
// (ingest re-encodes JSON), uncompressed; tenant, batch id and signal travel in headers. The
// batch id derives from tenant and content, so a retried request has the same id: consumers use
// it to skip what a backend already took.

export const OTLP_BATCH_SCHEMA = 'otlp-batch.v1';

export interface OtlpBatch {
  batchId: string;
  tenant: string;
  signal: OtlpSignal;
  /** ms since epoch when ingest accepted it */
  receivedAtMs: number;
  /** the binary protobuf Export request */
  body: Buffer;
}

const H = {
  schema: 'ember-schema',
  batchId: 'ember-batch-id',
  tenant: 'ember-tenant',
  signal: 'ember-signal',
  receivedAt: 'ember-received-at',
} as const;

export function otlpTopicOf(signal: OtlpSignal): string {
  return TOPICS[signal];
}

export function encodeOtlpBatch(b: OtlpBatch): OutgoingMessage {
  return {
    // one tenant's requests spread over partitions by content; order across requests does not
    // matter to spans (each carries its own times)
    key: `${b.tenant}/${b.batchId}`,
    value: b.body,
    headers: {
      [H.schema]: OTLP_BATCH_SCHEMA,
      [H.batchId]: b.batchId,
      [H.tenant]: b.tenant,
      [H.signal]: b.signal,
      [H.receivedAt]: String(b.receivedAtMs),
    },
  };
}

const SIGNALS: ReadonlySet<string> = new Set<OtlpSignal>(['traces', 'metrics', 'logs']);

/** Validates a consumed message against the contract; throws PermanentError when it is not one. */
export function decodeOtlpBatch(m: IncomingMessage): OtlpBatch {
  const h = m.headers;
  if (h[H.schema] !== OTLP_BATCH_SCHEMA) {
    throw new PermanentError(
      `not an ${OTLP_BATCH_SCHEMA} message (schema=${h[H.schema]})`,
      'bad_message',
    );
  }
  const missing = Object.values(H).filter((k) => h[k] === undefined);
  if (missing.length > 0) {
    throw new PermanentError(`OTLP batch is missing headers: ${missing.join(', ')}`, 'bad_message');
  }
  if (!SIGNALS.has(h[H.signal])) {
    throw new PermanentError(`OTLP batch has unknown signal ${h[H.signal]}`, 'bad_message');
  }
  return {
    batchId: h[H.batchId],
    tenant: h[H.tenant],
    signal: h[H.signal] as OtlpSignal,
    receivedAtMs: Number(h[H.receivedAt]),
    body: m.value,
  };
}
