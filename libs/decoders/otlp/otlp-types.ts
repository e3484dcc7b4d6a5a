// The generated OTLP types the converter reads, under the names it uses.
export type {
  AnyValue,
  ExportProfilesServiceRequest,
  KeyValue,
  OtlpProfile,
  OtlpProfilesDictionary,
  OtlpSample,
} from '../../protocol/index.js';
