import { create, toBinary } from '@bufbuild/protobuf';
import {
  ExportTraceServiceRequestSchema,
  type ExportTraceServiceRequest,
} from './gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js';

// Test helpers: OTLP trace requests built from a compact description (specs, integration and
// end-to-end tests). Not used by production code.

export interface TestSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  /** ms since epoch */
  startMs: number;
  durationMs: number;
  kind?: number;
  status?: number;
  attributes?: Record<string, string | number | boolean>;
}

function anyValue(v: string | number | boolean) {
  if (typeof v === 'string') return { value: { case: 'stringValue' as const, value: v } };
  if (typeof v === 'boolean') return { value: { case: 'boolValue' as const, value: v } };
  if (Number.isInteger(v)) return { value: { case: 'intValue' as const, value: BigInt(v) } };
  return { value: { case: 'doubleValue' as const, value: v } };
}

export function traceRequest(
  service: string,
  spans: TestSpan[],
  resource: Record<string, string | number | boolean> = {},
): ExportTraceServiceRequest {
  const attrs = (o: Record<string, string | number | boolean>) =>
    Object.entries(o).map(([key, v]) => ({ key, value: anyValue(v) }));
  return create(ExportTraceServiceRequestSchema, {
    resourceSpans: [
      {
        resource: { attributes: attrs({ 'service.name': service, ...resource }) },
        scopeSpans: [
          {
            scope: { name: 'emberflow-test', version: '1' },
            spans: spans.map((s) => ({
              traceId: Buffer.from(s.traceId, 'hex'),
              spanId: Buffer.from(s.spanId, 'hex'),
              parentSpanId: Buffer.from(s.parentSpanId ?? '', 'hex'),
              name: s.name,
              kind: s.kind ?? 2,
              startTimeUnixNano: BigInt(s.startMs) * 1_000_000n,
              endTimeUnixNano: BigInt(s.startMs + s.durationMs) * 1_000_000n,
              attributes: attrs(s.attributes ?? {}),
              status: { code: s.status ?? 0, message: '' },
            })),
          },
        ],
      },
    ],
  });
}

export function traceRequestBytes(...args: Parameters<typeof traceRequest>): Uint8Array {
  return toBinary(ExportTraceServiceRequestSchema, traceRequest(...args));
}

/** The same request as OTLP/JSON text (hex ids, integer enums), as an SDK's JSON exporter sends. */
export function traceRequestJson(
  service: string,
  spans: TestSpan[],
  resource: Record<string, string | number | boolean> = {},
): string {
  const kv = (o: Record<string, string | number | boolean>) =>
    Object.entries(o).map(([key, v]) => ({
      key,
      value:
        typeof v === 'string'
          ? { stringValue: v }
          : typeof v === 'boolean'
            ? { boolValue: v }
            : Number.isInteger(v)
              ? { intValue: String(v) }
              : { doubleValue: v },
    }));
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: kv({ 'service.name': service, ...resource }) },
        scopeSpans: [
          {
            scope: { name: 'emberflow-test' },
            spans: spans.map((s) => ({
              traceId: s.traceId.toUpperCase(),
              spanId: s.spanId,
              ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
              name: s.name,
              kind: s.kind ?? 2,
              startTimeUnixNano: String(BigInt(s.startMs) * 1_000_000n),
              endTimeUnixNano: String(BigInt(s.startMs + s.durationMs) * 1_000_000n),
              attributes: kv(s.attributes ?? {}),
              status: { code: s.status ?? 0 },
            })),
          },
        ],
      },
    ],
  });
}
