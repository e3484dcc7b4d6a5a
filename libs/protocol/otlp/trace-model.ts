import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import type { ExportTraceServiceRequest } from './gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js';
import {
  AnyValueSchema,
  InstrumentationScopeSchema,
  type AnyValue,
  type KeyValue,
} from './gen/opentelemetry/proto/common/v1/common_pb.js';
import { ResourceSchema } from './gen/opentelemetry/proto/resource/v1/resource_pb.js';
import {
  ResourceSpansSchema,
  ScopeSpansSchema,
  SpanSchema,
  TracesDataSchema,
  type ResourceSpans,
  type TracesData,
} from './gen/opentelemetry/proto/trace/v1/trace_pb.js';

// Spans as the embedded span store indexes them, and back. An Export request nests spans under
// their resource and instrumentation scope; a stored span keeps the binary encoding of all three
// (so a trace read back is the OTLP the client sent, every field kept) beside the columns a
// search filters on: ids in hex, service, name, kind, status, times, and the attributes as
// scalars (attributes.ts rules).

/** Pyroscope's and OTel's fallback when a resource has no service.name. */
export const UNKNOWN_SERVICE = 'unknown_service';

export type AttributeScalar = string | number | boolean;

export interface SpanRecord {
  traceId: string;
  spanId: string;
  /** '' for a root span */
  parentSpanId: string;
  service: string;
  name: string;
  /** Span.SpanKind number (0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer) */
  kind: number;
  /** Status.StatusCode number (0 unset, 1 ok, 2 error) */
  statusCode: number;
  statusMessage: string;
  startUnixNano: bigint;
  endUnixNano: bigint;
  resourceAttributes: Record<string, AttributeScalar>;
  spanAttributes: Record<string, AttributeScalar>;
  /** binary Resource, InstrumentationScope and Span */
  resource: Uint8Array;
  scope: Uint8Array;
  span: Uint8Array;
}

export function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** An attribute value as one scalar: arrays and maps become their JSON text. */
export function scalarOf(v: AnyValue | undefined): AttributeScalar {
  const x = v?.value;
  switch (x?.case) {
    case 'stringValue':
      return x.value;
    case 'boolValue':
      return x.value;
    case 'intValue':
      return Number(x.value);
    case 'doubleValue':
      return x.value;
    case 'bytesValue':
      return Buffer.from(x.value).toString('base64');
    case 'arrayValue':
      return JSON.stringify(x.value.values.map(scalarOf));
    case 'kvlistValue':
      return JSON.stringify(attributeMap(x.value.values));
    default:
      return '';
  }
}

export function attributeMap(kvs: readonly KeyValue[]): Record<string, AttributeScalar> {
  const out: Record<string, AttributeScalar> = {};
  for (const kv of kvs) out[kv.key] = scalarOf(kv.value);
  return out;
}

/** Every span of a request, flattened with its resource and scope. */
export function flattenSpans(req: ExportTraceServiceRequest): SpanRecord[] {
  const out: SpanRecord[] = [];
  for (const rs of req.resourceSpans) {
    const resourceAttributes = attributeMap(rs.resource?.attributes ?? []);
    const serviceAttr = resourceAttributes['service.name'];
    const service =
      typeof serviceAttr === 'string' && serviceAttr !== '' ? serviceAttr : UNKNOWN_SERVICE;
    const resource = toBinary(ResourceSchema, rs.resource ?? create(ResourceSchema));
    for (const ss of rs.scopeSpans) {
      const scope = toBinary(
        InstrumentationScopeSchema,
        ss.scope ?? create(InstrumentationScopeSchema),
      );
      for (const s of ss.spans) {
        out.push({
          traceId: hexOf(s.traceId),
          spanId: hexOf(s.spanId),
          parentSpanId: hexOf(s.parentSpanId),
          service,
          name: s.name,
          kind: s.kind,
          statusCode: s.status?.code ?? 0,
          statusMessage: s.status?.message ?? '',
          startUnixNano: s.startTimeUnixNano,
          endUnixNano: s.endTimeUnixNano,
          resourceAttributes,
          spanAttributes: attributeMap(s.attributes),
          resource,
          scope,
          span: toBinary(SpanSchema, s),
        });
      }
    }
  }
  return out;
}

export interface StoredSpanBlobs {
  resource: Uint8Array;
  scope: Uint8Array;
  span: Uint8Array;
}

/**
 * Regroups stored spans into OTLP TracesData: one ResourceSpans per distinct resource, one
 * ScopeSpans per distinct scope within it, spans in the order given.
 */
export function assembleTraces(spans: readonly StoredSpanBlobs[]): TracesData {
  const byResource = new Map<string, { rs: ResourceSpans; scopes: Map<string, number> }>();
  const data = create(TracesDataSchema);
  for (const s of spans) {
    const rk = Buffer.from(s.resource).toString('base64');
    let r = byResource.get(rk);
    if (!r) {
      r = {
        rs: create(ResourceSpansSchema, { resource: fromBinary(ResourceSchema, s.resource) }),
        scopes: new Map(),
      };
      byResource.set(rk, r);
      data.resourceSpans.push(r.rs);
    }
    const sk = Buffer.from(s.scope).toString('base64');
    let i = r.scopes.get(sk);
    if (i === undefined) {
      i = r.rs.scopeSpans.length;
      r.rs.scopeSpans.push(
        create(ScopeSpansSchema, { scope: fromBinary(InstrumentationScopeSchema, s.scope) }),
      );
      r.scopes.set(sk, i);
    }
    r.rs.scopeSpans[i].spans.push(fromBinary(SpanSchema, s.span));
  }
  return data;
}

export { AnyValueSchema, TracesDataSchema };
