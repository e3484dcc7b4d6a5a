// OTLP on the wire: the envelope of the profiles service and the generated types (gen/) under
// names that do not clash with pprof's.
export * from './profiles-request.js';
export type {
  ExportProfilesServiceRequest,
  ExportProfilesServiceResponse,
} from './gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js';
export {
  ExportProfilesServiceRequestSchema,
  ExportProfilesServiceResponseSchema,
} from './gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js';
export type {
  Profile as OtlpProfile,
  ProfilesDictionary as OtlpProfilesDictionary,
  Sample as OtlpSample,
} from './gen/opentelemetry/proto/profiles/v1development/profiles_pb.js';
export type { AnyValue, KeyValue } from './gen/opentelemetry/proto/common/v1/common_pb.js';
// Traces, metrics and logs over OTLP/HTTP: the signals, request decoding with the spec's status
// codes, OTLP/JSON id handling, google.rpc.Status error bodies and the span model of the store.
export * from './otlp-signal.js';
export * from './otlp-json.js';
export * from './otlp-request.js';
export * from './rpc-status.js';
export * from './trace-model.js';
