import type { DescMessage } from '@bufbuild/protobuf';
import {
  ExportLogsServiceRequestSchema,
  ExportLogsServiceResponseSchema,
} from './gen/opentelemetry/proto/collector/logs/v1/logs_service_pb.js';
import {
  ExportMetricsServiceRequestSchema,
  ExportMetricsServiceResponseSchema,
} from './gen/opentelemetry/proto/collector/metrics/v1/metrics_service_pb.js';
import {
  ExportTraceServiceRequestSchema,
  ExportTraceServiceResponseSchema,
} from './gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js';

// The three OTLP signals Emberflow takes over OTLP/HTTP, with the request and response messages
// of their Export calls (opentelemetry-proto collector/*/v1). Profiles are a fourth signal,
// served by the OTLP profiles ingest (its own path, its own conversion to Pyroscope series).

export type OtlpSignal = 'traces' | 'metrics' | 'logs';

export const OTLP_SIGNALS: readonly OtlpSignal[] = ['traces', 'metrics', 'logs'];

export interface OtlpSignalSpec {
  signal: OtlpSignal;
  request: DescMessage;
  response: DescMessage;
  /** the standard OTLP/HTTP path, `/v1/<signal>` (Datakit serves it under `/otel` too) */
  path: string;
}

export const OTLP_SIGNAL_SPECS: Record<OtlpSignal, OtlpSignalSpec> = {
  traces: {
    signal: 'traces',
    request: ExportTraceServiceRequestSchema,
    response: ExportTraceServiceResponseSchema,
    path: '/v1/traces',
  },
  metrics: {
    signal: 'metrics',
    request: ExportMetricsServiceRequestSchema,
    response: ExportMetricsServiceResponseSchema,
    path: '/v1/metrics',
  },
  logs: {
    signal: 'logs',
    request: ExportLogsServiceRequestSchema,
    response: ExportLogsServiceResponseSchema,
    path: '/v1/logs',
  },
};
